/**
 * The board behind each notebook on the ESP32 kernel: one comm per kernel, reopened when
 * the kernel restarts or changes; and the registry that says which one is current.
 */
import { ISessionContext } from '@jupyterlab/apputils';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { Kernel, KernelMessage } from '@jupyterlab/services';
import { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';

import {
  BoardProtocol,
  COMM_TARGET,
  Command,
  COMMAND_LABELS,
  IBoardState,
  IPinsMessage,
  IReply,
  KERNEL_NAME,
  QUIET_COMMANDS
} from './protocol';
import { IWebSerialRequest, WebSerialPorts } from './webserial';

/** A notice for the user: the outcome of the last command. */
export interface INotice {
  ok: boolean;
  text: string;
}

export class BoardModel implements IDisposable {
  constructor(
    readonly panel: NotebookPanel,
    private readonly webSerial: WebSerialPorts
  ) {
    const context = panel.sessionContext;
    context.kernelChanged.connect(this._sync, this);
    context.statusChanged.connect(this._onStatus, this);
    void context.ready.then(() => this._sync());
  }

  /** The kernel's latest word on its board; null while there is no comm. */
  get state(): IBoardState | null {
    return this._protocol?.state ?? null;
  }

  /** The kernel's latest pin view (and the emulator's bench); null before the first. */
  get pins(): IPinsMessage | null {
    return this._protocol?.pins ?? null;
  }

  /** Emits when a new pin view arrives (often: kept apart from `changed`). */
  get pinsChanged(): ISignal<this, void> {
    return this._pinsChanged;
  }

  /** Show an outcome in the panel (for work the panel does itself, such as uploads). */
  setNotice(ok: boolean, text: string): void {
    this._notice = { ok, text };
    this._changed.emit();
  }

  /** The last command's outcome. */
  get notice(): INotice | null {
    return this._notice;
  }

  /** Whether the notebook runs the ESP32 kernel. */
  get isESP32(): boolean {
    return this._kernel()?.name === KERNEL_NAME;
  }

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get isDisposed(): boolean {
    return this._disposed;
  }

  /** Send a command to the kernel; the reply becomes the notice. */
  async run(command: Command, args: Record<string, unknown> = {}): Promise<IReply> {
    const protocol = this._protocol;
    if (!protocol) {
      const reply: IReply = {
        type: 'reply',
        id: '',
        ok: false,
        message: 'This notebook is not connected to the ESP32 kernel.'
      };
      this._setNotice(command, reply);
      return reply;
    }
    const reply = await protocol.request(command, args);
    if (!QUIET_COMMANDS.has(command)) {
      this._setNotice(command, reply);
    }
    return reply;
  }

  dispose(): void {
    if (this._disposed) {
      return;
    }
    this._disposed = true;
    this._closeComm();
    Signal.clearData(this);
  }

  private _kernel(): Kernel.IKernelConnection | null {
    return this.panel.sessionContext.session?.kernel ?? null;
  }

  private _setNotice(command: Command, reply: IReply): void {
    const text =
      reply.message ||
      (reply.ok ? `${COMMAND_LABELS[command]}: done.` : `${COMMAND_LABELS[command]} failed.`);
    this._notice = { ok: reply.ok, text };
    this._changed.emit();
  }

  private _onStatus(_: ISessionContext, status: Kernel.Status): void {
    if (status === 'restarting' || status === 'autorestarting' || status === 'dead') {
      this._closeComm();
      this._changed.emit();
    } else if (status === 'idle' && !this._comm) {
      this._sync();
    }
  }

  /** Open the comm if this is an ESP32 kernel without one; close it if the kernel went. */
  private _sync(): void {
    if (this._disposed) {
      return;
    }
    const kernel = this._kernel();
    if (this._comm && (this._comm.isDisposed || this._commKernel !== kernel)) {
      this._closeComm();
    }
    if (!kernel || kernel.name !== KERNEL_NAME || this._comm) {
      this._changed.emit();
      return;
    }
    let comm: Kernel.IComm;
    try {
      comm = kernel.createComm(COMM_TARGET);
    } catch (error) {
      console.warn('esp32-kernel: could not open the board comm', error);
      return;
    }
    const protocol = new BoardProtocol(
      data => {
        comm.send(data as any);
      },
      () => this._changed.emit(),
      undefined,
      () => this._pinsChanged.emit()
    );
    comm.onMsg = (msg: KernelMessage.ICommMsgMsg) => {
      const data = msg.content.data as unknown as IWebSerialRequest;
      if (data?.type === 'webserial') {
        void this.webSerial.serve(data, kernel.serverSettings);
      } else {
        protocol.receive(msg.content.data);
      }
    };
    comm.onClose = () => {
      if (this._comm === comm) {
        this._closeComm();
        this._changed.emit();
      }
    };
    this._comm = comm;
    this._commKernel = kernel;
    this._protocol = protocol;
    comm.open({});
    this._changed.emit();
  }

  private _closeComm(): void {
    const comm = this._comm;
    this._protocol?.close('the kernel went away');
    this._comm = null;
    this._commKernel = null;
    this._protocol = null;
    if (comm && !comm.isDisposed) {
      try {
        comm.close();
      } catch {
        // the kernel is gone: nothing to tell it
      }
    }
  }

  private _comm: Kernel.IComm | null = null;
  private _commKernel: Kernel.IKernelConnection | null = null;
  private _protocol: BoardProtocol | null = null;
  private _notice: INotice | null = null;
  private _disposed = false;
  private _changed = new Signal<this, void>(this);
  private _pinsChanged = new Signal<this, void>(this);
}

/** One BoardModel per open notebook; `current` follows the notebook in focus. */
export class BoardRegistry {
  /** This page's serial port (Web Serial), shared by its notebooks' kernels. */
  readonly webSerial = new WebSerialPorts();

  constructor(readonly tracker: INotebookTracker) {
    tracker.widgetAdded.connect((_, panel) => this._add(panel));
    tracker.forEach(panel => this._add(panel));
    tracker.currentChanged.connect(() => this._changed.emit());
  }

  /** The board of the current notebook, when it runs the ESP32 kernel. */
  get current(): BoardModel | null {
    const panel = this.tracker.currentWidget;
    const model = panel ? (this._models.get(panel) ?? null) : null;
    return model && model.isESP32 ? model : null;
  }

  /** Emits when the current notebook, its kernel or its board's state changes. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  private _add(panel: NotebookPanel): void {
    if (this._models.has(panel)) {
      return;
    }
    const model = new BoardModel(panel, this.webSerial);
    this._models.set(panel, model);
    model.changed.connect(() => {
      if (this.tracker.currentWidget === panel) {
        this._changed.emit();
      }
    });
    model.pinsChanged.connect(() => {
      if (this.tracker.currentWidget === panel) {
        this._pinsChanged.emit();
      }
    });
    panel.disposed.connect(() => {
      this._models.delete(panel);
      model.dispose();
      this._changed.emit();
    });
  }

  /** Emits when the current board's pin view changes. */
  get pinsChanged(): ISignal<this, void> {
    return this._pinsChanged;
  }

  private _models = new Map<NotebookPanel, BoardModel>();
  private _changed = new Signal<this, void>(this);
  private _pinsChanged = new Signal<this, void>(this);
}
