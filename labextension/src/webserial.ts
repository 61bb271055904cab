/**
 * A board plugged into this computer, for a kernel that runs elsewhere: the browser's Web
 * Serial port, carried to the kernel over a WebSocket of the Jupyter server
 * (esp32_kernel/server_extension) to the kernel's bridge (esp32_kernel/link/protocol_webserial.py
 * has the messages). Binary messages are the serial line; text messages its control.
 *
 * The kernel asks (a `webserial` comm message) whenever it opens `webserial://`: a %connect,
 * the panel's button, a %reset --hard, %safe or %flash reopening the port. The port the user
 * chose once is reused without asking again; choosing one needs a click (the browser's rule),
 * so the first request shows a dialog whose button opens the browser's port chooser.
 */
import { Dialog, showDialog } from '@jupyterlab/apputils';
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

/** The parts of the Web Serial API used here (not yet in TypeScript's DOM types). */
interface ISignals {
  dataTerminalReady?: boolean;
  requestToSend?: boolean;
}
interface ISerialPort extends EventTarget {
  open(options: { baudRate: number }): Promise<void>;
  close(): Promise<void>;
  setSignals(signals: ISignals): Promise<void>;
  getInfo(): { usbVendorId?: number; usbProductId?: number };
  readonly readable: ReadableStream<Uint8Array> | null;
  readonly writable: WritableStream<Uint8Array> | null;
}
interface ISerial extends EventTarget {
  requestPort(options?: object): Promise<ISerialPort>;
  getPorts(): Promise<ISerialPort[]>;
}

/** What the kernel sends when it opens `webserial://`. */
export interface IWebSerialRequest {
  type: 'webserial';
  bridge: number;
  token: string;
  baud: number;
  signals: ISignals;
}

/** Why there is no "Connect a board on this computer" here, and what to do instead. */
export const NO_WEB_SERIAL =
  'This browser has no Web Serial (Firefox and Safari lack it), so it cannot reach a board ' +
  'plugged into this computer. Open JupyterLab in Chrome or Edge — or reach the board another ' +
  'way: RFC 2217 from the lab server (esp32-kernel serve-boards) or WebREPL over WiFi.';

function serial(): ISerial | null {
  return ((navigator as unknown as { serial?: ISerial }).serial ?? null) as ISerial | null;
}

export function hasWebSerial(): boolean {
  return serial() !== null;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The port this page gives its kernels: chosen once, reused; one open at a time. */
export class WebSerialPorts {
  /** Ask the user for the port (call it from a click). False when they chose none. */
  async choose(): Promise<boolean> {
    const api = serial();
    if (!api) {
      return false;
    }
    try {
      this._chosen = await api.requestPort();
    } catch {
      return false; // the chooser was cancelled
    }
    return true;
  }

  /** Whether this page has a port it can reopen without asking. */
  get hasPort(): boolean {
    return this._chosen !== null;
  }

  /** Answer a kernel's request: open the port and connect it to the kernel's bridge. */
  async serve(request: IWebSerialRequest, settings: ServerConnection.ISettings): Promise<void> {
    await this._session?.closed; // the port is reopened only once the last use let it go
    const bridge = new Bridge(request, settings);
    const port = await this._port().catch((error: Error) => {
      void bridge.fail(error.message);
      return null;
    });
    if (port) {
      this._session = bridge;
      await bridge.start(port);
    }
  }

  private async _port(): Promise<ISerialPort> {
    const api = serial();
    if (!api) {
      throw new Error(NO_WEB_SERIAL);
    }
    if (this._chosen && (await api.getPorts()).includes(this._chosen)) {
      return this._chosen;
    }
    const answer = await showDialog({
      title: 'Connect a board on this computer',
      body:
        'The ESP32 kernel asks for the board plugged into this computer. Choose its serial ' +
        'port (USB) in the browser’s prompt.',
      buttons: [Dialog.cancelButton(), Dialog.okButton({ label: 'Choose port…' })]
    });
    if (!answer.button.accept || !(await this.choose())) {
      throw new Error('no port was chosen in the browser (its prompt was cancelled)');
    }
    return this._chosen!;
  }

  private _chosen: ISerialPort | null = null;
  private _session: Bridge | null = null;
}

/** One use of the port: the WebSocket to the kernel's bridge and the pumps between them. */
class Bridge {
  constructor(
    private readonly request: IWebSerialRequest,
    settings: ServerConnection.ISettings
  ) {
    this.url =
      URLExt.join(settings.wsUrl, 'esp32-kernel', 'webserial') + `?bridge=${request.bridge}`;
    if (settings.token && settings.appendToken) {
      this.url += `&token=${encodeURIComponent(settings.token)}`;
    }
    this.closed = new Promise(resolve => (this._closedResolve = resolve));
  }

  private readonly url: string;
  private ws!: WebSocket; // made by _hello(), which every use follows
  /** Resolves when the port is closed again. */
  readonly closed: Promise<void>;

  /** Tell the kernel why no port is coming. */
  async fail(why: string): Promise<void> {
    if (await this._hello()) {
      this._control({ error: why });
    }
    this.ws.close();
    this._closedResolve();
  }

  async start(port: ISerialPort): Promise<void> {
    if (!(await this._hello())) {
      this._closedResolve();
      return;
    }
    try {
      await port.open({ baudRate: this.request.baud });
    } catch (error) {
      void this.fail(
        `could not open the port: ${message(error)} — is another program (a serial monitor, ` +
          'Thonny, another tab) using it?'
      );
      return;
    }
    this.port = port;
    try {
      // Opening asserts DTR and RTS on some systems: set the lines as the kernel holds them,
      // both released, so the board's auto-reset circuit leaves it running.
      await port.setSignals(this.request.signals);
    } catch {
      // a port without modem lines
    }
    this.ws.onmessage = event => this._fromKernel(event.data);
    this.ws.onclose = () => void this._shutDown();
    port.addEventListener('disconnect', this._unplugged);
    this._control({ opened: port.getInfo() });
    void this._pump();
  }

  /** Connect and say the token; false when the server refused us. */
  private _hello(): Promise<boolean> {
    const ws = (this.ws = new WebSocket(this.url));
    ws.binaryType = 'arraybuffer';
    return new Promise(resolve => {
      ws.onopen = () => {
        this._control({ token: this.request.token });
        resolve(true);
      };
      ws.onerror = () => resolve(false);
      ws.onclose = () => resolve(false);
    });
  }

  private _control(message: Record<string, unknown>): void {
    if (this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify(message));
    }
  }

  /** The board's bytes, as they come, to the kernel; a failure is the board going away. */
  private async _pump(): Promise<void> {
    while (this.port && !this._stopping) {
      const readable = this.port.readable;
      if (!readable) {
        break;
      }
      this._reader = readable.getReader();
      try {
        for (;;) {
          const { value, done } = await this._reader.read();
          if (done) {
            break;
          }
          if (value && this.ws.readyState === WebSocket.OPEN) {
            this.ws.send(value);
          }
        }
      } catch (error) {
        if (!this._stopping && !this._reopening) {
          this._lost(`the board's port failed (${message(error)}) — was it unplugged?`);
          return;
        }
      } finally {
        this._reader.releaseLock();
        this._reader = null;
      }
      if (!this._reopening) {
        break;
      }
      await this._reopened;
    }
  }

  /** The kernel's bytes and control, in order: a reset's line changes keep their place. */
  private _fromKernel(data: ArrayBuffer | string): void {
    if (typeof data !== 'string') {
      this._queue(() => this._write(new Uint8Array(data)));
      return;
    }
    const control = JSON.parse(data) as { ping?: number; signals?: ISignals; baud?: number };
    if (control.ping !== undefined) {
      this._control({ pong: control.ping }); // at once: the kernel times the browser's silence
    } else if (control.signals) {
      const signals = control.signals;
      this._queue(() => this.port!.setSignals(signals));
    } else if (control.baud) {
      const baud = control.baud;
      this._queue(() => this._reopen(baud));
    }
  }

  private _queue(step: () => Promise<void>): void {
    this._order = this._order.then(step).catch(error => {
      if (!this._stopping) {
        this._lost(`the board's port failed (${message(error)}) — was it unplugged?`);
      }
    });
  }

  private async _write(bytes: Uint8Array): Promise<void> {
    const writer = this.port!.writable!.getWriter();
    try {
      await writer.write(bytes);
    } finally {
      writer.releaseLock();
    }
  }

  /** A new speed: Web Serial sets it only when opening, so close and open again. */
  private async _reopen(baud: number): Promise<void> {
    const port = this.port!;
    this._reopening = true;
    let done = () => undefined as void;
    this._reopened = new Promise(resolve => (done = resolve));
    try {
      await this._stopReading();
      await port.close();
      await port.open({ baudRate: baud });
    } finally {
      this._reopening = false;
      done();
    }
  }

  /** Cancel the pump's read and free the stream now (close() refuses a locked one). */
  private async _stopReading(): Promise<void> {
    const reader = this._reader;
    if (reader) {
      await reader.cancel();
      reader.releaseLock(); // the pump's own release then does nothing
    }
  }

  private _unplugged = (): void => {
    this._lost('the board was unplugged from this computer');
  };

  private _lost(why: string): void {
    this._control({ lost: why });
    this.ws.close();
  }

  private async _shutDown(): Promise<void> {
    if (this._stopping) {
      return;
    }
    this._stopping = true;
    const port = this.port;
    this.port = null;
    if (port) {
      port.removeEventListener('disconnect', this._unplugged);
      try {
        await this._stopReading();
        await port.close();
      } catch {
        // already gone (unplugged)
      }
    }
    this._closedResolve();
  }

  private port: ISerialPort | null = null;
  private _reader: ReadableStreamDefaultReader<Uint8Array> | null = null;
  private _order: Promise<void> = Promise.resolve();
  private _stopping = false;
  private _reopening = false;
  private _reopened: Promise<void> = Promise.resolve();
  private _closedResolve: () => void = () => undefined;
}
