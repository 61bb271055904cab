import { defineConfig } from 'vitest/config';

// Unit tests of the pure front-end logic (src/protocol.ts, src/pins.ts): no DOM, no JupyterLab.
export default defineConfig({
  test: {
    include: ['src/__tests__/**/*.spec.ts'],
    environment: 'node'
  }
});
