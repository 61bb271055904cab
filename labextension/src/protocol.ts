/**
 * The comm protocol between the lab extension and the ESP32 kernel
 * (esp32_kernel/lab/comm.py), and the pure logic around it: no JupyterLab imports here,
 * so it is unit-tested on its own.
 */

/** The comm target the kernel registers. */
export const COMM_TARGET = 'esp32_kernel.board';

/** The kernelspec name of the ESP32 kernel. */
export const KERNEL_NAME = 'esp32';

/** How long a command may take before the front end gives up waiting (ms). */
export const REPLY_TIMEOUT = 60_000;

/**
 * Quick commands that are safe to send twice. A comm message can be lost on its way to the
 * kernel (seen with ipykernel 7 while JupyterLab moves comm traffic to a subshell): these are
 * sent again, with the same id, when no reply came within RESEND_AFTER.
 */
export const RESENDABLE = new Set<string>(['ports', 'refresh', 'files_list', 'pins']);
export const RESEND_AFTER = 4_000;
const RESEND_TIMES = 3;

export interface IFirmware {
  sysname: string;
  release: string;
  version: string;
  machine: string;
}

/** What the kernel says about its board. */
export interface IBoardState {
  connected: boolean;
  kind: 'board' | 'emulator' | null;
  description: string;
  port: string | null;
  baud: number | null;
  lost: string | null;
  error: string | null;
  firmware: IFirmware | null;
  free_heap: number | null;
  busy: boolean;
  pending: string | null;
  starting: boolean;
}

export interface IPort {
  device: string;
  description: string;
  vid_pid: string;
  bridge: string | null;
}

export interface IReply {
  type: 'reply';
  id: string;
  ok: boolean;
  message: string;
  ports?: IPort[];
  /** files_list */
  path?: string;
  entries?: IFileEntry[];
  fs_size?: number | null;
  fs_free?: number | null;
  /** files_read: the bytes, base64 */
  content?: string;
  size?: number;
  /** files_write: the board already had exactly this file */
  skipped?: boolean;
  /** bench: the emulator's answer */
  result?: Record<string, unknown>;
}

/** One entry of a board folder. */
export interface IFileEntry {
  name: string;
  dir: boolean;
  size: number;
}

/** One GPIO as the kernel last saw it (see esp32_kernel/lab/pins.py: PinWatch / pins_from_registers). */
export interface IPinView {
  mode: 'in' | 'out' | 'open_drain' | 'other' | null;
  level: number;
  volts: number | null;
  pull: 'up' | 'down' | 'both' | null;
  irq: number;
  pwm: [number, number] | null;
  dac: number | null;
}

/** The board profile: labels printed on the board ↔ chip GPIOs, its LEDs and buttons. */
export interface IBoardProfile {
  id: string;
  name: string;
  labels: Record<string, number>;
  leds: { label: string; gpio: number; active_low: boolean }[];
  buttons: { label: string; gpio: number; active_low: boolean }[];
  /** true when the board is real and its profile a guess (the DevKitC's) */
  assumed: boolean;
}

/** The emulator's bench, as its `describe` command tells it. */
export interface IBench {
  driven: Record<string, number>;
  sources: Record<string, Record<string, unknown>>;
  buttons: Record<string, { pressed: boolean; active_low: boolean }>;
  pots: Record<string, number>;
  thermistors: Record<string, { celsius: number; [key: string]: number }>;
  leds: Record<string, Record<string, unknown>>;
  wires: Record<string, number>;
  [part: string]: unknown;
}

/** The kernel's pin view: levels and modes (and the bench, for the emulator). */
export interface IPinsMessage {
  type: 'pins';
  source: 'emulator' | 'board';
  pins: Record<string, IPinView>;
  bench: IBench | null;
  profile: IBoardProfile | null;
}

export interface IStateMessage {
  type: 'state';
  state: IBoardState;
}

export type Command =
  | 'refresh'
  | 'ports'
  | 'connect'
  | 'disconnect'
  | 'soft_reset'
  | 'hard_reset'
  | 'interrupt'
  | 'files_list'
  | 'files_read'
  | 'files_write'
  | 'files_delete'
  | 'files_mkdir'
  | 'pins'
  | 'bench';

/** Commands whose outcome is not worth a notice in the panel (their caller shows it). */
export const QUIET_COMMANDS = new Set<Command>([
  'ports',
  'refresh',
  'files_list',
  'files_read',
  'pins',
  'bench'
]);

/** The words a user sees for each command, e.g. in a notification. */
export const COMMAND_LABELS: Record<Command, string> = {
  refresh: 'Refresh',
  ports: 'List ports',
  connect: 'Connect',
  disconnect: 'Disconnect',
  soft_reset: 'Soft reset',
  hard_reset: 'Hard reset',
  interrupt: 'Interrupt',
  files_list: 'List files',
  files_read: 'Read file',
  files_write: 'Write file',
  files_delete: 'Delete',
  files_mkdir: 'New folder',
  pins: 'Read pins',
  bench: 'Bench'
};

/** Free heap as a person reads it: "66.3 KB free". */
export function formatHeap(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined || !Number.isFinite(bytes)) {
    return '';
  }
  if (bytes < 1024) {
    return `${bytes} B free`;
  }
  const kb = bytes / 1024;
  return `${kb >= 100 ? kb.toFixed(0) : kb.toFixed(1)} KB free`;
}

/** "MicroPython 1.24.0" from the board's os.uname(). */
export function formatFirmware(firmware: IFirmware | null | undefined): string {
  if (!firmware) {
    return '';
  }
  return `MicroPython ${firmware.release}`;
}

/** The activity word: what the board is doing now. */
export function activity(state: IBoardState | null): string {
  if (!state) {
    return 'no kernel';
  }
  if (state.starting) {
    return 'connecting';
  }
  if (state.pending && !QUIET_COMMANDS.has(state.pending as Command)) {
    return `${COMMAND_LABELS[state.pending as Command] ?? state.pending}…`.toLowerCase();
  }
  if (state.lost) {
    return 'link lost';
  }
  if (!state.connected) {
    return 'not connected';
  }
  return state.busy ? 'busy' : 'idle';
}

/** A short name for the connection: "Emulator", "ESP32 /dev/ttyUSB0", "No board". */
export function boardLabel(state: IBoardState | null): string {
  if (!state || state.kind === null) {
    return state?.starting ? 'ESP32…' : 'No board';
  }
  if (state.kind === 'emulator') {
    return 'Emulated ESP32';
  }
  if (state.port === 'webserial://') {
    return 'ESP32 on this computer';
  }
  return `ESP32 ${state.port ?? ''}`.trim();
}

/** The status bar's text and tooltip for a state. */
export function statusText(state: IBoardState | null): {
  text: string;
  title: string;
} {
  const parts = [boardLabel(state)];
  if (state?.connected) {
    const firmware = formatFirmware(state.firmware);
    if (firmware) {
      parts.push(firmware);
    }
    const heap = formatHeap(state.free_heap);
    if (heap) {
      parts.push(heap);
    }
  }
  parts.push(activity(state));
  const title = state
    ? [
        state.description,
        state.port ? `port: ${state.port}${state.baud ? ` @ ${state.baud} baud` : ''}` : '',
        state.firmware ? `firmware: ${state.firmware.version} (${state.firmware.machine})` : '',
        state.lost ?? state.error ?? '',
        'Click to open the ESP32 board panel'
      ]
        .filter(Boolean)
        .join('\n')
    : 'Open a notebook on the ESP32 (MicroPython) kernel';
  return { text: parts.join(' · '), title };
}

/** Which commands make sense now; the others are shown disabled. */
export function enabledCommands(state: IBoardState | null): Set<Command> {
  const enabled = new Set<Command>(['ports', 'refresh']);
  if (!state || state.pending || state.starting) {
    return enabled;
  }
  if (!state.busy) {
    enabled.add('connect');
  }
  if (state.kind !== null && !state.busy) {
    enabled.add('disconnect');
  }
  if (state.connected) {
    enabled.add('interrupt');
    if (!state.busy) {
      enabled.add('soft_reset');
      enabled.add('hard_reset');
    }
  }
  return enabled;
}

/** The part of a comm the protocol needs: a way to send data. */
export type Send = (data: Record<string, unknown>) => void;

/**
 * One side of the conversation: sends commands with ids, matches replies to them, and
 * hands states to a listener. It knows nothing of JupyterLab: the caller wires `send`
 * to a comm and feeds `receive` with the comm's messages.
 */
export class BoardProtocol {
  constructor(
    private readonly send: Send,
    private readonly onState: (state: IBoardState) => void,
    private readonly timeout = REPLY_TIMEOUT,
    private readonly onPins: (pins: IPinsMessage) => void = () => undefined,
    private readonly resendAfter = RESEND_AFTER
  ) {}

  private nextId = 0;
  private readonly waiting = new Map<
    string,
    {
      resolve: (reply: IReply) => void;
      timer: ReturnType<typeof setTimeout>;
      resend?: ReturnType<typeof setInterval>;
    }
  >();

  /** The latest state the kernel sent, if any. */
  state: IBoardState | null = null;

  /** The latest pin view the kernel sent, if any. */
  pins: IPinsMessage | null = null;

  /** Send a command; resolves with the kernel's reply (never rejects: a failure is a reply). */
  request(command: Command, args: Record<string, unknown> = {}): Promise<IReply> {
    const id = `${command}-${++this.nextId}`;
    return new Promise<IReply>(resolve => {
      const timer = setTimeout(() => {
        clearInterval(this.waiting.get(id)?.resend);
        this.waiting.delete(id);
        resolve({
          type: 'reply',
          id,
          ok: false,
          message: `no answer from the kernel to ${command} within ${Math.round(this.timeout / 1000)} s`
        });
      }, this.timeout);
      const message = { command, id, ...args };
      let resends = 0;
      const resend = RESENDABLE.has(command)
        ? setInterval(() => {
            if (++resends > RESEND_TIMES) {
              clearInterval(resend);
              return;
            }
            try {
              this.send(message);
            } catch {
              // the timeout answers
            }
          }, this.resendAfter)
        : undefined;
      this.waiting.set(id, { resolve, timer, resend });
      try {
        this.send(message);
      } catch (error) {
        clearTimeout(timer);
        clearInterval(resend);
        this.waiting.delete(id);
        resolve({ type: 'reply', id, ok: false, message: `could not send ${command}: ${error}` });
      }
    });
  }

  /** Feed one message the kernel sent on the comm. */
  receive(data: unknown): void {
    if (!data || typeof data !== 'object') {
      return;
    }
    const message = data as { type?: string };
    if (message.type === 'state') {
      this.state = (data as IStateMessage).state;
      this.onState(this.state);
    } else if (message.type === 'pins') {
      this.pins = data as IPinsMessage;
      this.onPins(this.pins);
    } else if (message.type === 'reply') {
      const reply = data as IReply;
      const waiter = this.waiting.get(reply.id);
      if (waiter) {
        clearTimeout(waiter.timer);
        clearInterval(waiter.resend);
        this.waiting.delete(reply.id);
        waiter.resolve(reply);
      }
    }
  }

  /** The comm closed: answer every waiting request. */
  close(reason = 'the kernel closed the connection'): void {
    for (const [id, waiter] of this.waiting) {
      clearTimeout(waiter.timer);
      clearInterval(waiter.resend);
      waiter.resolve({ type: 'reply', id, ok: false, message: reason });
    }
    this.waiting.clear();
  }

  /** How many requests still wait for a reply. */
  get waitingCount(): number {
    return this.waiting.size;
  }
}
