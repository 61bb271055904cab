/**
 * The emulator's bench as the panel shows it: the parts and analog sources on each pin,
 * and the bench commands (esp32_kernel/lab's `bench`) that add, adjust and remove them. Pure logic.
 */
import type { IBench } from './protocol';

export type PartKind = 'button' | 'pot' | 'thermistor' | 'led' | 'source' | 'driven' | 'wire';

export interface IPart {
  kind: PartKind;
  gpio: number;
  /** One line: "button (pressed)", "sine 1.65 V ± 1 V, 0.5 Hz"… */
  summary: string;
  /** Slider value: position 0–1 (pot), °C (thermistor). */
  value?: number;
  pressed?: boolean;
}

/** What the "Add" menu offers: parts, and analog sources for ADC pins. */
export const ADDABLE = [
  'button',
  'pot',
  'thermistor',
  'led',
  'sine',
  'triangle',
  'square',
  'noise',
  'walk',
  'constant',
  'ble_sensor',
  'ble_heart_rate'
] as const;
export type Addable = (typeof ADDABLE)[number];

export const ADDABLE_LABELS: Record<Addable, string> = {
  button: 'push button (to GND)',
  pot: 'potentiometer',
  thermistor: 'thermistor (10 k NTC)',
  led: 'LED',
  sine: 'sine source',
  triangle: 'triangle source',
  square: 'square source',
  noise: 'noise source',
  walk: 'random walk source',
  constant: 'constant voltage',
  ble_sensor: 'BLE sensor (temperature, humidity)',
  ble_heart_rate: 'BLE heart-rate monitor'
};

/** Bench devices with a radio of their own: no pin, a name. */
export function isBle(kind: Addable): boolean {
  return kind === 'ble_sensor' || kind === 'ble_heart_rate';
}

/** Parts that need an analog input (ADC). */
export function needsAdc(kind: Addable): boolean {
  return kind !== 'button' && kind !== 'led' && !isBle(kind);
}

/** The bench command words that add `kind` on `gpio` (a BLE device: named `name`), with
 * sensible defaults. */
export function addWords(kind: Addable, gpio: number, name = ''): (string | number)[] {
  switch (kind) {
    case 'ble_sensor':
    case 'ble_heart_rate':
      return [kind, name];
    case 'button':
      return ['add_button', gpio, 'active_low'];
    case 'pot':
      return ['add_pot', gpio, 0.5];
    case 'thermistor':
      return ['add_thermistor', gpio, 25];
    case 'led':
      return ['add_led', gpio, `LED${gpio}`, 'active_high'];
    case 'constant':
      return ['set_source', gpio, 'constant', 1.65];
    case 'noise':
      return ['set_source', gpio, 'noise', 1.65, 0.1];
    default:
      return ['set_source', gpio, kind, 1.65, 1.0, 0.5];
  }
}

/** The command that moves a part's slider: a pot's position or a thermistor's temperature. */
export function adjustWords(part: IPart, value: number): (string | number)[] | null {
  if (part.kind === 'pot') {
    return ['set_pot', part.gpio, Math.max(0, Math.min(1, Math.round(value * 1000) / 1000))];
  }
  if (part.kind === 'thermistor') {
    return ['set_temperature', part.gpio, Math.round(value * 10) / 10];
  }
  return null;
}

/** A Bluetooth device of the bench (emulator/ble_bench.py), as `describe` lists it. */
export interface IBleDevice {
  name: string;
  kind: 'Sensor' | 'HeartRateMonitor';
  mac: string;
  connections: number;
  celsius?: number;
  humidity?: number;
  bpm?: number;
}

/** Its sliders: which setting, its range and step, and what it means. */
export const BLE_SETTINGS: Record<
  string,
  { min: number; max: number; step: number; label: string; unit: string }
> = {
  celsius: { min: -20, max: 50, step: 0.5, label: 'Temperature (°C)', unit: '°C' },
  humidity: { min: 0, max: 100, step: 1, label: 'Humidity (%RH)', unit: '%RH' },
  bpm: { min: 30, max: 220, step: 1, label: 'Heart rate (beats per minute)', unit: 'bpm' }
};

export function bleDevices(bench: IBench | null | undefined): IBleDevice[] {
  const devices = (bench?.ble_devices ?? {}) as Record<string, IBleDevice>;
  return Object.values(devices).sort((a, b) => a.name.localeCompare(b.name));
}

/** "sensor at 21 °C, 45 %RH · 1 connection". */
export function describeBle(device: IBleDevice): string {
  const readings =
    device.kind === 'Sensor'
      ? `${num(device.celsius, 1)} °C, ${num(device.humidity, 0)} %RH`
      : `${num(device.bpm, 0)} beats per minute`;
  const links = device.connections === 1 ? '1 connection' : `${device.connections} connections`;
  return `${readings} · ${links}`;
}

/** The command that sets one of a BLE device's readings (the others as they are). */
export function bleWords(device: IBleDevice, setting: string, value: number): (string | number)[] {
  if (device.kind === 'HeartRateMonitor') {
    return ['ble_heart_rate', device.name, Math.round(value)];
  }
  const celsius = setting === 'celsius' ? value : (device.celsius ?? 21);
  const humidity = setting === 'humidity' ? value : (device.humidity ?? 45);
  return ['ble_sensor', device.name, celsius, humidity];
}

/** A name for the next BLE device of `kind`: sensor1, sensor2… heart1… */
export function nextBleName(kind: Addable, bench: IBench | null | undefined): string {
  const stem = kind === 'ble_sensor' ? 'sensor' : 'heart';
  const taken = new Set(bleDevices(bench).map(device => device.name));
  let n = 1;
  while (taken.has(`${stem}${n}`)) {
    n += 1;
  }
  return `${stem}${n}`;
}

function num(value: unknown, digits = 2): string {
  return typeof value === 'number' ? String(Number(value.toFixed(digits))) : String(value ?? '?');
}

function describeSource(source: Record<string, unknown>): string {
  const kind = String(source.kind ?? 'source');
  if (kind === 'constant') {
    return `constant ${num(source.offset)} V`;
  }
  const freq = source.freq !== undefined ? `, ${num(source.freq)} Hz` : '';
  return `${kind} ${num(source.offset)} V ± ${num(source.amplitude)} V${freq}`;
}

/** Every part and source on the bench, in pin order. */
export function benchParts(bench: IBench | null | undefined): IPart[] {
  if (!bench) {
    return [];
  }
  const parts: IPart[] = [];
  for (const [pin, button] of Object.entries(bench.buttons ?? {})) {
    parts.push({
      kind: 'button',
      gpio: +pin,
      summary: `push button${button.active_low ? '' : ' (to 3V3)'}${button.pressed ? ' — pressed' : ''}`,
      pressed: button.pressed
    });
  }
  for (const [pin, position] of Object.entries(bench.pots ?? {})) {
    parts.push({
      kind: 'pot',
      gpio: +pin,
      summary: `potentiometer at ${Math.round(position * 100)}% (${num(position * 3.3)} V)`,
      value: position
    });
  }
  for (const [pin, thermistor] of Object.entries(bench.thermistors ?? {})) {
    parts.push({
      kind: 'thermistor',
      gpio: +pin,
      summary: `thermistor at ${num(thermistor.celsius, 1)} °C`,
      value: thermistor.celsius
    });
  }
  for (const [pin, led] of Object.entries(bench.leds ?? {})) {
    const brightness = typeof led.brightness === 'number' ? led.brightness : null;
    parts.push({
      kind: 'led',
      gpio: +pin,
      summary:
        `LED ${String(led.name ?? '')}${brightness === null ? '' : brightness > 0 ? ` — on (${Math.round(brightness * 100)}%)` : ' — off'}`.replace(
          /\s+/g,
          ' '
        )
    });
  }
  for (const [pin, source] of Object.entries(bench.sources ?? {})) {
    parts.push({ kind: 'source', gpio: +pin, summary: describeSource(source) });
  }
  for (const [pin, level] of Object.entries(bench.driven ?? {})) {
    parts.push({
      kind: 'driven',
      gpio: +pin,
      summary: `held ${level ? 'high' : 'low'} from outside`
    });
  }
  for (const [pin, from] of Object.entries(bench.wires ?? {})) {
    parts.push({ kind: 'wire', gpio: +pin, summary: `wired from GPIO ${from}` });
  }
  const order: PartKind[] = ['button', 'pot', 'thermistor', 'led', 'source', 'driven', 'wire'];
  return parts.sort((a, b) => a.gpio - b.gpio || order.indexOf(a.kind) - order.indexOf(b.kind));
}
