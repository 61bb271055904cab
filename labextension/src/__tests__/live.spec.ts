import { describe, expect, it } from 'vitest';

import { addWords, adjustWords, benchParts, needsAdc } from '../bench';
import {
  base64ToBytes,
  baseName,
  bytesToBase64,
  decodeText,
  drivePath,
  formatSize,
  joinPath,
  parentPath,
  sortEntries,
  validName
} from '../files';
import { adcReading, boardLabels, describeLive, formatVolts, pinLook } from '../pins';
import { BoardProtocol, IBench, IBoardProfile, IPinsMessage, IPinView } from '../protocol';

const view = (over: Partial<IPinView> = {}): IPinView => ({
  mode: null,
  level: 0,
  volts: 0,
  pull: null,
  irq: 0,
  pwm: null,
  dac: null,
  ...over
});

const profile: IBoardProfile = {
  id: 'esp32-devkitc',
  name: 'ESP32-DevKitC',
  labels: { IO2: 2, SVP: 36, IO0: 0 },
  leds: [],
  buttons: [{ label: 'BOOT', gpio: 0, active_low: true }],
  assumed: false
};

describe('pin looks', () => {
  it('colours by mode and level', () => {
    expect(pinLook(null)).toBe('unused');
    expect(pinLook(view())).toBe('unused');
    expect(pinLook(view({ mode: 'out', level: 1 }))).toBe('out-high');
    expect(pinLook(view({ mode: 'out', level: 0 }))).toBe('out-low');
    expect(pinLook(view({ mode: 'open_drain', level: 1 }))).toBe('out-high');
    expect(pinLook(view({ mode: 'in', level: 1 }))).toBe('in-high');
    expect(pinLook(view({ mode: 'in', level: 0 }))).toBe('in-low');
    expect(pinLook(view({ mode: 'out', pwm: [1000, 32768] }))).toBe('pwm');
    expect(pinLook(view({ mode: 'out', pwm: [0, 0] }))).toBe('out-low');
    expect(pinLook(view({ dac: 128 }))).toBe('dac');
  });

  it('labels pins from the board profile, LEDs and buttons too', () => {
    expect(boardLabels(profile, 2)).toEqual(['IO2']);
    expect(boardLabels(profile, 36)).toEqual(['SVP']);
    expect(boardLabels(profile, 0)).toEqual(['IO0', 'BOOT']);
    expect(boardLabels(profile, 5)).toEqual([]);
    expect(boardLabels(null, 2)).toEqual([]);
  });

  it('shows ADC pins with volts and a reading', () => {
    expect(formatVolts(1.65)).toBe('1.65 V');
    expect(formatVolts(null)).toBe('');
    expect(adcReading(1.65)).toBe(2048);
    expect(adcReading(5)).toBe(4095);
    expect(adcReading(-1)).toBe(0);
    const text = describeLive(34, view({ mode: 'in', level: 0, volts: 1.65 }), profile);
    expect(text).toContain('GPIO 34');
    expect(text).toContain('input only');
    expect(text).toContain('1.65 V (ADC ≈ 2048');
    expect(describeLive(2, view({ mode: 'out', level: 1, volts: 3.3 }), profile)).toContain(
      'GPIO 2 (IO2 on the board)'
    );
    expect(describeLive(2, view({ mode: 'out', level: 1 }), profile)).toContain('output, high (1)');
    expect(describeLive(5, view({ mode: 'out', pwm: [1000, 16384] }), null)).toContain(
      'PWM 1000 Hz, duty 25%'
    );
  });
});

describe('the protocol hands pin views over', () => {
  it('keeps the latest and tells the listener', () => {
    const seen: IPinsMessage[] = [];
    const protocol = new BoardProtocol(
      () => undefined,
      () => undefined,
      1000,
      p => seen.push(p)
    );
    const message = {
      type: 'pins',
      source: 'emulator',
      pins: { '2': view({ mode: 'out', level: 1 }) },
      bench: null,
      profile
    };
    protocol.receive(message);
    expect(protocol.pins?.pins['2'].level).toBe(1);
    expect(seen).toHaveLength(1);
  });
});

describe('board file paths', () => {
  it('joins and climbs', () => {
    expect(joinPath('/', 'main.py')).toBe('/main.py');
    expect(joinPath('/lib/', '/x.py')).toBe('/lib/x.py');
    expect(joinPath('/lib', '../boot.py')).toBe('/boot.py');
    expect(joinPath('/', '..')).toBe('/');
    expect(parentPath('/lib/x.py')).toBe('/lib');
    expect(parentPath('/lib')).toBe('/');
    expect(parentPath('/')).toBe('/');
    expect(baseName('/lib/x.py')).toBe('x.py');
    expect(drivePath('/lib/x.py')).toBe('ESP32:lib/x.py');
  });

  it('formats sizes and sorts folders first', () => {
    expect(formatSize(812)).toBe('812 B');
    expect(formatSize(3482)).toBe('3.4 KB');
    expect(formatSize(1.5 * 1024 * 1024)).toBe('1.5 MB');
    expect(formatSize(null)).toBe('');
    const sorted = sortEntries([
      { name: 'b.py', dir: false, size: 1 },
      { name: 'lib', dir: true, size: 0 },
      { name: 'a.py', dir: false, size: 1 }
    ]);
    expect(sorted.map(e => e.name)).toEqual(['lib', 'a.py', 'b.py']);
  });

  it('round-trips bytes through base64 and tells text from binary', () => {
    const bytes = new Uint8Array(70000).map((_, i) => i % 256);
    expect(base64ToBytes(bytesToBase64(bytes))).toEqual(bytes);
    expect(decodeText(new TextEncoder().encode('print("é")'))).toBe('print("é")');
    expect(decodeText(new Uint8Array([0xff, 0xfe, 0x00]))).toBeNull();
    expect(decodeText(new Uint8Array([0x41, 0x00]))).toBeNull();
  });

  it('accepts only plain names for uploads', () => {
    expect(validName('main.py')).toBe(true);
    expect(validName('a/b.py')).toBe(false);
    expect(validName('..')).toBe(false);
    expect(validName('')).toBe(false);
  });
});

describe('the bench', () => {
  const bench: IBench = {
    driven: { '5': 1 },
    sources: { '35': { kind: 'sine', offset: 1.65, amplitude: 1, freq: 0.5 } },
    buttons: { '0': { pressed: false, active_low: true } },
    pots: { '34': 0.25 },
    thermistors: { '32': { celsius: 21.5, r25: 10000 } },
    leds: {},
    wires: { '26': 25 }
  };

  it('lists parts and sources in pin order', () => {
    const parts = benchParts(bench);
    expect(parts.map(p => [p.kind, p.gpio])).toEqual([
      ['button', 0],
      ['driven', 5],
      ['wire', 26],
      ['thermistor', 32],
      ['pot', 34],
      ['source', 35]
    ]);
    expect(parts.find(p => p.kind === 'pot')?.summary).toBe('potentiometer at 25% (0.82 V)');
    expect(parts.find(p => p.kind === 'source')?.summary).toBe('sine 1.65 V ± 1 V, 0.5 Hz');
    expect(parts.find(p => p.kind === 'thermistor')?.value).toBe(21.5);
    expect(benchParts(null)).toEqual([]);
  });

  it('builds the commands that add and adjust parts', () => {
    expect(addWords('button', 0)).toEqual(['add_button', 0, 'active_low']);
    expect(addWords('pot', 34)).toEqual(['add_pot', 34, 0.5]);
    expect(addWords('sine', 35)).toEqual(['set_source', 35, 'sine', 1.65, 1.0, 0.5]);
    expect(addWords('constant', 36)).toEqual(['set_source', 36, 'constant', 1.65]);
    expect(needsAdc('pot')).toBe(true);
    expect(needsAdc('button')).toBe(false);
    const [pot, thermistor, button] = ['pot', 'thermistor', 'button'].map(k =>
      benchParts(bench).find(p => p.kind === k)!
    );
    expect(adjustWords(pot, 0.4567)).toEqual(['set_pot', 34, 0.457]);
    expect(adjustWords(pot, 3)).toEqual(['set_pot', 34, 1]);
    expect(adjustWords(thermistor, 30.04)).toEqual(['set_temperature', 32, 30]);
    expect(adjustWords(button, 1)).toBeNull();
  });
});

describe('lost comm messages', () => {
  it('sends quick, repeatable commands again with the same id until answered', async () => {
    const sent: Record<string, unknown>[] = [];
    const protocol = new BoardProtocol(
      data => sent.push(data),
      () => undefined,
      1000,
      undefined,
      20
    );
    const pending = protocol.request('files_list', { path: '/' });
    await new Promise(resolve => setTimeout(resolve, 50));
    expect(sent.length).toBeGreaterThanOrEqual(2);
    expect(new Set(sent.map(m => m.id)).size).toBe(1);
    protocol.receive({ type: 'reply', id: sent[0].id, ok: true, message: '', entries: [] });
    expect((await pending).ok).toBe(true);
    const count = sent.length;
    await new Promise(resolve => setTimeout(resolve, 50));
    expect(sent.length).toBe(count);
  });

  it('never sends a write twice', async () => {
    const sent: Record<string, unknown>[] = [];
    const protocol = new BoardProtocol(
      data => sent.push(data),
      () => undefined,
      1000,
      undefined,
      10
    );
    void protocol.request('files_write', { path: '/x', content: '' });
    await new Promise(resolve => setTimeout(resolve, 50));
    expect(sent).toHaveLength(1);
    protocol.close();
  });
});
