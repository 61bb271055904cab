import { describe, expect, it } from 'vitest';

import { addWords, bleDevices, bleWords, describeBle, needsAdc, nextBleName } from '../bench';
import type { IBench } from '../protocol';

const bench = (ble: Record<string, unknown>): IBench =>
  ({
    driven: {},
    sources: {},
    buttons: {},
    pots: {},
    thermistors: {},
    leds: {},
    wires: {},
    ble_devices: ble
  }) as IBench;

const sensor = {
  name: 'sensor1',
  kind: 'Sensor',
  mac: 'aabbccddeeff',
  connections: 1,
  celsius: 21.5,
  humidity: 40
};
const strap = {
  name: 'heart1',
  kind: 'HeartRateMonitor',
  mac: '010203040506',
  connections: 0,
  bpm: 72
};

describe('the bench’s Bluetooth devices', () => {
  it('lists them by name and says what they read', () => {
    const devices = bleDevices(bench({ sensor1: sensor, heart1: strap }));
    expect(devices.map(d => d.name)).toEqual(['heart1', 'sensor1']);
    expect(describeBle(devices[1])).toBe('21.5 °C, 40 %RH · 1 connection');
    expect(describeBle(devices[0])).toBe('72 beats per minute · 0 connections');
    expect(bleDevices(null)).toEqual([]);
  });

  it('sets one reading and keeps the others', () => {
    const [heart, s] = bleDevices(bench({ sensor1: sensor, heart1: strap }));
    expect(bleWords(s, 'humidity', 55)).toEqual(['ble_sensor', 'sensor1', 21.5, 55]);
    expect(bleWords(s, 'celsius', 30)).toEqual(['ble_sensor', 'sensor1', 30, 40]);
    expect(bleWords(heart, 'bpm', 99.6)).toEqual(['ble_heart_rate', 'heart1', 100]);
  });

  it('names a new device after the ones there, and needs no pin', () => {
    expect(nextBleName('ble_sensor', bench({ sensor1: sensor }))).toBe('sensor2');
    expect(nextBleName('ble_heart_rate', bench({ sensor1: sensor }))).toBe('heart1');
    expect(addWords('ble_sensor', 0, 'sensor2')).toEqual(['ble_sensor', 'sensor2']);
    expect(needsAdc('ble_sensor')).toBe(false);
  });
});
