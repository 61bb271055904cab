import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import {
  activity,
  boardLabel,
  BoardProtocol,
  enabledCommands,
  formatFirmware,
  formatHeap,
  IBoardState,
  statusText
} from '../protocol';

function state(overrides: Partial<IBoardState> = {}): IBoardState {
  return {
    connected: true,
    kind: 'emulator',
    description: 'emulated ESP32 at socket://127.0.0.1:4000',
    port: 'socket://127.0.0.1:4000',
    baud: 115200,
    lost: null,
    error: null,
    firmware: {
      sysname: 'esp32',
      release: '1.24.0',
      version: 'v1.24.0 on 2024-10-25',
      machine: 'Generic ESP32 module with ESP32'
    },
    free_heap: 67890,
    busy: false,
    pending: null,
    starting: false,
    ...overrides
  };
}

describe('formatting', () => {
  it('shows the heap in KB, one decimal below 100 KB', () => {
    expect(formatHeap(67890)).toBe('66.3 KB free');
    expect(formatHeap(112640)).toBe('110 KB free');
    expect(formatHeap(512)).toBe('512 B free');
    expect(formatHeap(null)).toBe('');
  });

  it('names the firmware by its MicroPython release', () => {
    expect(formatFirmware(state().firmware)).toBe('MicroPython 1.24.0');
    expect(formatFirmware(null)).toBe('');
  });

  it('labels the emulator, a board by its port, and no board', () => {
    expect(boardLabel(state())).toBe('Emulated ESP32');
    expect(boardLabel(state({ kind: 'board', port: '/dev/ttyUSB0' }))).toBe('ESP32 /dev/ttyUSB0');
    expect(boardLabel(state({ kind: 'board', port: 'webserial://' }))).toBe(
      'ESP32 on this computer'
    );
    expect(boardLabel(state({ kind: null, connected: false }))).toBe('No board');
    expect(boardLabel(null)).toBe('No board');
  });

  it('says what the board is doing', () => {
    expect(activity(state())).toBe('idle');
    expect(activity(state({ busy: true }))).toBe('busy');
    expect(activity(state({ connected: false, lost: 'the link was lost' }))).toBe('link lost');
    expect(activity(state({ kind: null, connected: false }))).toBe('not connected');
    expect(activity(state({ pending: 'soft_reset' }))).toBe('soft reset…');
    expect(activity(state({ starting: true }))).toBe('connecting');
  });

  it('puts board, firmware, heap and activity in the status text', () => {
    const { text, title } = statusText(state());
    expect(text).toBe('Emulated ESP32 · MicroPython 1.24.0 · 66.3 KB free · idle');
    expect(title).toContain('socket://127.0.0.1:4000 @ 115200 baud');
    expect(title).toContain('v1.24.0 on 2024-10-25');
    expect(statusText(state({ connected: false, kind: null })).text).toBe(
      'No board · not connected'
    );
  });
});

describe('enabledCommands', () => {
  it('allows everything on an idle board', () => {
    const enabled = enabledCommands(state());
    for (const command of [
      'connect',
      'disconnect',
      'interrupt',
      'soft_reset',
      'hard_reset'
    ] as const) {
      expect(enabled.has(command)).toBe(true);
    }
  });

  it('allows only interrupt (and listing) while a cell runs', () => {
    const enabled = enabledCommands(state({ busy: true }));
    expect([...enabled].sort()).toEqual(['interrupt', 'ports', 'refresh']);
  });

  it('allows connect but no resets without a board', () => {
    const enabled = enabledCommands(state({ connected: false, kind: null }));
    expect(enabled.has('connect')).toBe(true);
    expect(enabled.has('soft_reset')).toBe(false);
    expect(enabled.has('disconnect')).toBe(false);
  });

  it('allows nothing new while a command is pending', () => {
    expect([...enabledCommands(state({ pending: 'connect' }))].sort()).toEqual([
      'ports',
      'refresh'
    ]);
  });
});

describe('BoardProtocol', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('sends commands with ids and resolves them with the matching reply', async () => {
    const sent: Record<string, unknown>[] = [];
    const protocol = new BoardProtocol(
      data => sent.push(data),
      () => undefined
    );
    const first = protocol.request('ports');
    const second = protocol.request('connect', { port: 'emulator' });
    expect(sent).toHaveLength(2);
    expect(sent[1]).toMatchObject({ command: 'connect', port: 'emulator' });
    expect(sent[0].id).not.toBe(sent[1].id);
    protocol.receive({ type: 'reply', id: sent[1].id, ok: true, message: 'Connected' });
    protocol.receive({ type: 'reply', id: sent[0].id, ok: true, message: '', ports: [] });
    await expect(second).resolves.toMatchObject({ ok: true, message: 'Connected' });
    await expect(first).resolves.toMatchObject({ ok: true, ports: [] });
    expect(protocol.waitingCount).toBe(0);
  });

  it('hands every state to the listener and keeps the latest', () => {
    const seen: IBoardState[] = [];
    const protocol = new BoardProtocol(
      () => undefined,
      s => seen.push(s)
    );
    protocol.receive({ type: 'state', state: state({ busy: true }) });
    protocol.receive({ type: 'state', state: state() });
    expect(seen.map(s => s.busy)).toEqual([true, false]);
    expect(protocol.state?.busy).toBe(false);
  });

  it('ignores noise and replies nobody waits for', () => {
    const protocol = new BoardProtocol(
      () => undefined,
      () => undefined
    );
    protocol.receive(null);
    protocol.receive('text');
    protocol.receive({ type: 'reply', id: 'nobody', ok: true, message: '' });
    expect(protocol.state).toBeNull();
  });

  it('answers a request the kernel never answers with a failure, after the timeout', async () => {
    const protocol = new BoardProtocol(
      () => undefined,
      () => undefined,
      1000
    );
    const reply = protocol.request('soft_reset');
    vi.advanceTimersByTime(1001);
    await expect(reply).resolves.toMatchObject({
      ok: false,
      message: expect.stringContaining('no answer')
    });
  });

  it('answers waiting requests when the comm closes', async () => {
    const protocol = new BoardProtocol(
      () => undefined,
      () => undefined
    );
    const reply = protocol.request('hard_reset');
    protocol.close('the kernel restarted');
    await expect(reply).resolves.toMatchObject({ ok: false, message: 'the kernel restarted' });
  });

  it('turns a send that throws into a failed reply', async () => {
    const protocol = new BoardProtocol(
      () => {
        throw new Error('comm is closed');
      },
      () => undefined
    );
    await expect(protocol.request('interrupt')).resolves.toMatchObject({ ok: false });
    expect(protocol.waitingCount).toBe(0);
  });
});
