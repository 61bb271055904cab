/**
 * The ESP32's GPIOs as MicroPython numbers them (the chip's numbers, not a board's labels),
 * and what each can do. Facts from MicroPython v1.24's ESP32 quick reference.
 */
import type { IBoardProfile, IPinView } from './protocol';

export type PinUse = 'flash' | 'input-only' | 'gpio';

export interface IPinInfo {
  gpio: number;
  use: PinUse;
  /** 'ADC1_CH4' etc.; ADC2 is unusable while WiFi is on. */
  adc: string | null;
  dac: string | null;
  touch: string | null;
  /** Boot-strapping pins: their level at reset selects the boot mode. */
  strapping: boolean;
  /** What a student should know, in one line. */
  note: string;
}

/** The chip's GPIO numbers: 0–19, 21–23, 25–27, 32–39. */
export const GPIOS: readonly number[] = [
  ...range(0, 19),
  ...range(21, 23),
  ...range(25, 27),
  ...range(32, 39)
];

function range(first: number, last: number): number[] {
  return Array.from({ length: last - first + 1 }, (_, i) => first + i);
}

const ADC1: Record<number, number> = { 36: 0, 37: 1, 38: 2, 39: 3, 32: 4, 33: 5, 34: 6, 35: 7 };
const ADC2: Record<number, number> = {
  4: 0,
  0: 1,
  2: 2,
  15: 3,
  13: 4,
  12: 5,
  14: 6,
  27: 7,
  25: 8,
  26: 9
};
const TOUCH: Record<number, number> = {
  4: 0,
  0: 1,
  2: 2,
  15: 3,
  13: 4,
  12: 5,
  14: 6,
  27: 7,
  33: 8,
  32: 9
};
const DAC: Record<number, number> = { 25: 1, 26: 2 };
const STRAPPING = new Set([0, 2, 5, 12, 15]);

export function isGpio(gpio: number): boolean {
  return GPIOS.includes(gpio);
}

/** What GPIO `gpio` can do; throws for a number the chip does not have. */
export function pinInfo(gpio: number): IPinInfo {
  if (!isGpio(gpio)) {
    throw new RangeError(`GPIO ${gpio} does not exist on the ESP32`);
  }
  const use: PinUse = gpio >= 6 && gpio <= 11 ? 'flash' : gpio >= 34 ? 'input-only' : 'gpio';
  const adc = gpio in ADC1 ? `ADC1_CH${ADC1[gpio]}` : gpio in ADC2 ? `ADC2_CH${ADC2[gpio]}` : null;
  const info: IPinInfo = {
    gpio,
    use,
    adc,
    dac: gpio in DAC ? `DAC${DAC[gpio]}` : null,
    touch: gpio in TOUCH ? `T${TOUCH[gpio]}` : null,
    strapping: STRAPPING.has(gpio),
    note: ''
  };
  info.note = describePin(info);
  return info;
}

function describePin(info: IPinInfo): string {
  if (info.use === 'flash') {
    return 'drives the SPI flash: do not use';
  }
  const parts: string[] = [];
  if (info.use === 'input-only') {
    parts.push('input only, no pull-up/down');
  }
  if (info.adc) {
    parts.push(info.adc.startsWith('ADC2') ? `${info.adc} (not while WiFi is on)` : info.adc);
  }
  if (info.dac) {
    parts.push(info.dac);
  }
  if (info.touch) {
    parts.push(`touch ${info.touch}`);
  }
  if (info.strapping) {
    parts.push('strapping pin: its level at reset matters');
  }
  return parts.join('; ') || 'general purpose';
}

/** Every GPIO with its facts, in chip order. */
export function allPins(): IPinInfo[] {
  return GPIOS.map(pinInfo);
}

// The live view ---------------------------------------------------------------------------

/** How a pin is drawn: its mode and level in one word (a CSS data attribute). */
export type PinLook = 'unused' | 'in-low' | 'in-high' | 'out-low' | 'out-high' | 'pwm' | 'dac';

export function pinLook(view: IPinView | null | undefined): PinLook {
  if (!view) {
    return 'unused';
  }
  if (view.pwm && view.pwm[0] > 0) {
    return 'pwm';
  }
  if (view.dac !== null && view.dac !== undefined) {
    return 'dac';
  }
  if (view.mode === 'out' || view.mode === 'open_drain') {
    return view.level ? 'out-high' : 'out-low';
  }
  if (view.mode === 'in' || view.mode === 'other') {
    return view.level ? 'in-high' : 'in-low';
  }
  return 'unused';
}

/** The board's labels for a GPIO ("IO2", "SVP"), from its profile; the LED/button names too. */
export function boardLabels(profile: IBoardProfile | null | undefined, gpio: number): string[] {
  if (!profile) {
    return [];
  }
  const labels = Object.entries(profile.labels)
    .filter(([, g]) => g === gpio)
    .map(([label]) => label);
  for (const part of [...(profile.leds ?? []), ...(profile.buttons ?? [])]) {
    if (part.gpio === gpio && !labels.includes(part.label)) {
      labels.push(part.label);
    }
  }
  return labels;
}

/** Volts as a pin shows them: "1.65 V". */
export function formatVolts(volts: number | null | undefined): string {
  if (volts === null || volts === undefined || !Number.isFinite(volts)) {
    return '';
  }
  return `${volts.toFixed(2)} V`;
}

/** What an ADC at 11 dB (0–3.3 V, 12 bits; the emulator's linear model) reads for `volts`. */
export function adcReading(volts: number): number {
  return Math.max(0, Math.min(4095, Math.round((volts / 3.3) * 4095)));
}

/** One line for a pin's tooltip: its labels, facts and what it is doing now. */
export function describeLive(
  gpio: number,
  view: IPinView | null | undefined,
  profile: IBoardProfile | null | undefined
): string {
  const info = pinInfo(gpio);
  const labels = boardLabels(profile, gpio);
  const head = `GPIO ${gpio}${labels.length ? ` (${labels.join(', ')} on the board)` : ''}: ${info.note}`;
  if (!view) {
    return head;
  }
  const look = pinLook(view);
  const now =
    look === 'pwm' && view.pwm
      ? `PWM ${view.pwm[0]} Hz, duty ${Math.round((view.pwm[1] / 65535) * 100)}%`
      : look === 'dac'
        ? `DAC ${view.dac}/255`
        : look === 'unused'
          ? `not set up by the code${view.level ? ', reads high' : ''}`
          : `${look.startsWith('out') ? 'output' : 'input'}, ${view.level ? 'high (1)' : 'low (0)'}${
              view.pull ? `, pull-${view.pull}` : ''
            }${view.irq ? ', IRQ armed' : ''}`;
  const analog =
    info.adc && view.volts !== null && view.volts !== undefined
      ? ` — ${formatVolts(view.volts)} (ADC ≈ ${adcReading(view.volts)} at 11 dB)`
      : '';
  return `${head}\nnow: ${now}${analog}`;
}
