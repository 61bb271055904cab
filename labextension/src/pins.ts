/**
 * The ESP32's GPIOs as MicroPython numbers them (the chip's numbers, not a board's labels),
 * and what each can do. Facts from MicroPython v1.24's ESP32 quick reference.
 */

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
