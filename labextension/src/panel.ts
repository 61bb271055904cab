/**
 * The board panel (left sidebar) and the status-bar item.
 */
import { Dialog, showDialog } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';

import {
  ADDABLE,
  ADDABLE_LABELS,
  Addable,
  addWords,
  adjustWords,
  benchParts,
  BLE_SETTINGS,
  bleDevices,
  bleWords,
  describeBle,
  IBleDevice,
  isBle,
  nextBleName,
  IPart,
  needsAdc
} from './bench';
import {
  base64ToBytes,
  bytesToBase64,
  formatSize,
  joinPath,
  parentPath,
  sortEntries,
  validName
} from './files';

import { BoardModel, BoardRegistry } from './model';
import {
  activity,
  boardLabel,
  Command,
  enabledCommands,
  formatFirmware,
  formatHeap,
  IFileEntry,
  IPort,
  QUIET_COMMANDS,
  statusText
} from './protocol';
import { allPins, boardLabels, describeLive, formatVolts, pinLook } from './pins';
import { fetchPorts } from './request';
import { hasWebSerial, NO_WEB_SERIAL } from './webserial';

/** A tiny DOM builder: h('div', {class: 'x'}, 'text', child). */
function h(
  tag: string,
  attrs: Record<string, string | boolean | undefined> = {},
  ...children: (Node | string | null | undefined | false)[]
): HTMLElement {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === true) {
      element.setAttribute(name, '');
    } else if (typeof value === 'string') {
      element.setAttribute(name, value);
    }
  }
  for (const child of children) {
    if (child) {
      element.append(child);
    }
  }
  return element;
}

const EMULATOR = 'emulator';
const WEBSERIAL = 'webserial://';

/** Opens a board file in JupyterLab's editor (through the ESP32 drive). */
export type OpenFile = (model: BoardModel, path: string) => Promise<void>;

/** The sidebar panel: the board of the current notebook, its ports and its actions. */
export class BoardPanel extends Widget {
  constructor(
    private readonly boards: BoardRegistry,
    private readonly openFile: OpenFile = async () => undefined
  ) {
    super();
    this.id = 'esp32-kernel-board-panel';
    this.addClass('jp-ESP32-panel');
    this.title.caption = 'ESP32 board';
    boards.changed.connect(() => this._onChange(), this);
    boards.pinsChanged.connect(() => this._onPins(), this);
    this.node.addEventListener('click', this._onClick);
    this.node.addEventListener('keydown', this._onKeyDown);
    this.node.addEventListener('change', this._onInputChange);
    this._filesNode.addEventListener('dragover', this._onDragOver);
    this._filesNode.addEventListener('dragleave', this._onDragLeave);
    this._filesNode.addEventListener('drop', this._onDrop);
    this._benchNode.addEventListener('pointerdown', event => {
      this._sliding = (event.target as HTMLElement).classList.contains('jp-ESP32-slider');
    });
    document.addEventListener('pointerup', () => {
      if (this._sliding) {
        this._sliding = false;
        this._renderBench();
      }
    });
    this.node.append(
      this._topNode,
      this._filesNode,
      this._pinsNode,
      this._benchNode,
      this._portsNode
    );
    this._render();
  }

  dispose(): void {
    this.node.removeEventListener('click', this._onClick);
    this.node.removeEventListener('keydown', this._onKeyDown);
    this.node.removeEventListener('change', this._onInputChange);
    super.dispose();
  }

  // Files ------------------------------------------------------------------------------

  /** List the current board folder again (refused politely while a cell runs). */
  async refreshFiles(): Promise<void> {
    const model = this.boards.current;
    if (!model || !model.state?.connected) {
      this._entries = null;
      this._renderFiles();
      return;
    }
    if (this._filesLoading) {
      this._filesWanted = true; // list again when the listing under way has ended
      return;
    }
    this._filesLoading = true;
    this._filesWanted = false;
    this._renderFiles();
    const reply = await model.run('files_list', { path: this._folder });
    this._filesLoading = false;
    if (reply.ok) {
      this._entries = sortEntries(reply.entries ?? []);
      this._fsFree = reply.fs_free ?? null;
      this._filesError = '';
    } else {
      this._filesError = reply.message;
      if (
        this._entries === null &&
        this._folder !== '/' &&
        /no such|not a folder/.test(reply.message)
      ) {
        this._folder = '/';
      }
    }
    // Refused because the board was busy: try again once it is idle (see _onChange).
    this._filesWanted =
      this._filesWanted || (!reply.ok && /busy|running a cell/.test(reply.message));
    this._renderFiles(true);
    this._maybeLoadFiles();
  }

  /** Send files to the current board folder (from the file input or a drop). */
  async upload(files: File[]): Promise<void> {
    const model = this.boards.current;
    if (!model) {
      return;
    }
    for (const file of files) {
      if (!validName(file.name)) {
        model.setNotice(false, `${file.name}: not a name the board can take`);
        continue;
      }
      this._uploading = file.name;
      this._renderFiles();
      const content = bytesToBase64(new Uint8Array(await file.arrayBuffer()));
      const reply = await model.run('files_write', {
        path: joinPath(this._folder, file.name),
        content
      });
      if (!reply.ok) {
        break;
      }
    }
    this._uploading = '';
    await this.refreshFiles();
  }

  private async _download(path: string): Promise<void> {
    const model = this.boards.current;
    if (!model) {
      return;
    }
    const reply = await model.run('files_read', { path });
    if (!reply.ok) {
      model.setNotice(false, reply.message);
      return;
    }
    const blob = new Blob([base64ToBytes(reply.content ?? '') as BlobPart], {
      type: 'application/octet-stream'
    });
    const url = URL.createObjectURL(blob);
    const link = h('a', { href: url, download: path.slice(path.lastIndexOf('/') + 1) });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  }

  private async _delete(path: string, isDir: boolean): Promise<void> {
    const model = this.boards.current;
    if (!model) {
      return;
    }
    const result = await showDialog({
      title: 'Delete from the board',
      body: `Delete ${path}${isDir ? ' and everything in it' : ''} from the board? This cannot be undone.`,
      buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: 'Delete' })]
    });
    if (!result.button.accept) {
      return;
    }
    await model.run('files_delete', { path, recursive: isDir });
    await this.refreshFiles();
  }

  private async _fileAction(action: string, name: string, isDir: boolean): Promise<void> {
    const model = this.boards.current;
    const path = joinPath(this._folder, name);
    if (action === 'enter') {
      this._folder = isDir ? path : this._folder;
      if (!isDir && model) {
        await this.openFile(model, path);
        return;
      }
      await this.refreshFiles();
    } else if (action === 'up') {
      this._folder = parentPath(this._folder);
      await this.refreshFiles();
    } else if (action === 'refresh') {
      await this.refreshFiles();
    } else if (action === 'upload') {
      (this._filesNode.querySelector('.jp-ESP32-fileInput') as HTMLInputElement | null)?.click();
    } else if (action === 'open' && model) {
      await this.openFile(model, path);
    } else if (action === 'download') {
      await this._download(path);
    } else if (action === 'delete') {
      await this._delete(path, isDir);
    }
  }

  private _onDragOver = (event: DragEvent): void => {
    if (event.dataTransfer?.types.includes('Files')) {
      event.preventDefault();
      event.stopPropagation();
      event.dataTransfer.dropEffect = 'copy';
      this._filesNode.classList.add('jp-mod-dropTarget');
    }
  };

  private _onDragLeave = (): void => {
    this._filesNode.classList.remove('jp-mod-dropTarget');
  };

  private _onDrop = (event: DragEvent): void => {
    this._filesNode.classList.remove('jp-mod-dropTarget');
    const files = Array.from(event.dataTransfer?.files ?? []);
    if (files.length) {
      event.preventDefault();
      event.stopPropagation();
      void this.upload(files);
    }
  };

  private _onInputChange = (event: Event): void => {
    const target = event.target as HTMLInputElement;
    if (target.classList.contains('jp-ESP32-fileInput')) {
      const files = Array.from(target.files ?? []);
      target.value = '';
      void this.upload(files);
    } else if (target.classList.contains('jp-ESP32-slider') && target.dataset.ble) {
      const device = this._bleDevices.find(d => d.name === target.dataset.ble);
      if (device) {
        void this._bench(bleWords(device, target.dataset.setting ?? '', Number(target.value)));
      }
    } else if (target.classList.contains('jp-ESP32-slider')) {
      const part = this._parts.find(
        p => p.kind === target.dataset.kind && String(p.gpio) === target.dataset.gpio
      );
      const words = part ? adjustWords(part, Number(target.value)) : null;
      if (words) {
        void this._bench(words);
      }
    }
  };

  // Pins and bench ---------------------------------------------------------------------

  private async _bench(words: (string | number)[]): Promise<void> {
    const model = this.boards.current;
    if (!model) {
      return;
    }
    const reply = await model.run('bench', { words });
    if (!reply.ok) {
      model.setNotice(false, reply.message);
    }
  }

  private _onPins(): void {
    if (this.isVisible) {
      this._renderPins();
      this._renderBench();
    }
  }

  protected onAfterShow(): void {
    this._render();
    if (!this._ports) {
      void this.refreshPorts();
    }
    this._maybeLoadFiles();
  }

  /** List the board's files when they are wanted and the board is free. */
  private _maybeLoadFiles(): void {
    const state = this.boards.current?.state;
    if (
      this.isVisible &&
      this._open.files !== false &&
      (this._entries === null || this._filesWanted) &&
      !this._filesLoading &&
      !this._uploading &&
      state?.connected &&
      !state.busy &&
      !state.pending
    ) {
      void this.refreshFiles();
    }
  }

  /** List the ports again: through the kernel when there is one, else the server. */
  async refreshPorts(): Promise<void> {
    const model = this.boards.current;
    this._portsError = '';
    try {
      if (model && model.state) {
        const reply = await model.run('ports');
        if (!reply.ok) {
          throw new Error(reply.message);
        }
        this._ports = reply.ports ?? [];
      } else {
        this._ports = await fetchPorts();
      }
    } catch (error) {
      this._portsError = `Could not list the ports: ${(error as Error).message ?? error}`;
    }
    this._render();
  }

  private _onChange(): void {
    const model = this.boards.current;
    const state = model?.state ?? null;
    if (model !== this._model) {
      this._model = model;
      this._ports = null;
      this._entries = null;
      this._folder = '/';
      this._filesError = '';
      if (this.isVisible) {
        void this.refreshPorts();
      }
    }
    // After a cell the board's files may have changed: list them again once it is idle.
    const wasBusy = this._wasBusy;
    this._wasBusy = !!(
      state?.busy ||
      (state?.pending && !QUIET_COMMANDS.has(state.pending as Command))
    );
    if (
      wasBusy &&
      !this._wasBusy &&
      state?.connected &&
      this._entries !== null &&
      !this._uploading
    ) {
      this._filesWanted = true;
    }
    if (state && !state.connected) {
      this._entries = null;
    }
    if (this.isVisible) {
      this._render();
      this._maybeLoadFiles();
    }
  }

  private _onClick = (event: MouseEvent): void => {
    const button = (event.target as HTMLElement).closest(
      'button[data-command]'
    ) as HTMLButtonElement | null;
    if (!button || button.disabled) {
      return;
    }
    if (button.dataset.command === 'file') {
      void this._fileAction(
        button.dataset.action ?? '',
        button.dataset.name ?? '',
        button.dataset.dir === 'true'
      );
      return;
    }
    if (button.dataset.command === 'bench') {
      const action = button.dataset.action;
      const gpio = Number(button.dataset.gpio);
      if (action === 'add') {
        const kind = (this._benchNode.querySelector('.jp-ESP32-addKind') as HTMLSelectElement)
          .value as Addable;
        const pin = Number(
          (this._benchNode.querySelector('.jp-ESP32-addPin') as HTMLSelectElement).value
        );
        this._addKind = kind;
        this._addPin = pin;
        const bench = this.boards.current?.pins?.bench;
        void this._bench(addWords(kind, pin, isBle(kind) ? nextBleName(kind, bench) : ''));
      } else if (action === 'press') {
        void this._bench(['press', gpio, 300]);
      } else if (action === 'remove') {
        void this._bench(['remove', gpio]);
      }
      return;
    }
    const command = button.dataset.command as Command | 'list-ports';
    if (command === 'list-ports') {
      void this.refreshPorts();
      return;
    }
    const args: Record<string, unknown> = {};
    if (command === 'connect') {
      let port = button.dataset.port ?? '';
      if (port === '') {
        const input = this.node.querySelector('.jp-ESP32-url') as HTMLInputElement | null;
        port = input?.value.trim() ?? '';
      }
      if (port === WEBSERIAL) {
        void this._connectThisComputer();
        return;
      }
      args.port = port;
    }
    void this._run(command, args);
  };

  private _onKeyDown = (event: KeyboardEvent): void => {
    const target = event.target as HTMLElement;
    if (event.key === 'Enter' && target.classList.contains('jp-ESP32-url')) {
      event.preventDefault();
      void this._run('connect', { port: (target as HTMLInputElement).value.trim() });
    }
  };

  /** The board on this computer: the browser's port chooser (this click is the gesture it
   * needs), then the kernel connects and asks the page for the port; a reconnection reuses
   * the port chosen before without asking. */
  private async _connectThisComputer(): Promise<void> {
    const model = this.boards.current;
    if (!model) {
      return;
    }
    const webSerial = this.boards.webSerial;
    const state = model.state;
    const reconnect = state?.port === WEBSERIAL && !!state.lost && webSerial.hasPort; // the button says Reconnect
    if (!reconnect && !(await webSerial.choose())) {
      model.setNotice(false, 'No port was chosen: connect the board by USB, then choose its port.');
      return;
    }
    await this._run('connect', { port: WEBSERIAL });
  }

  private async _run(command: Command, args: Record<string, unknown>): Promise<void> {
    const model = this.boards.current;
    if (!model) {
      return;
    }
    await model.run(command, args);
    this._render();
  }

  private _render(): void {
    const model = this.boards.current;
    const state = model?.state ?? null;
    const enabled = enabledCommands(state);
    const button = (
      command: Command,
      label: string,
      title: string,
      extra: Record<string, string> = {}
    ) =>
      h(
        'button',
        {
          class: 'jp-ESP32-button jp-mod-styled',
          'data-command': command,
          title,
          disabled: !model || !enabled.has(command),
          ...extra
        },
        label
      );

    const header = h(
      'header',
      { class: 'jp-ESP32-header' },
      h('h2', {}, 'ESP32 board'),
      model
        ? h(
            'div',
            { class: 'jp-ESP32-notebook', title: model.panel.context.path },
            model.panel.title.label
          )
        : null
    );

    let body: HTMLElement;
    if (!model) {
      body = h(
        'p',
        { class: 'jp-ESP32-hint' },
        'Open a notebook on the ESP32 (MicroPython) kernel to see its board here. The serial ports of this machine are listed below.'
      );
    } else if (!state) {
      body = h('p', { class: 'jp-ESP32-hint' }, 'Waiting for the kernel…');
    } else {
      const kindClass = state.lost
        ? 'lost'
        : !state.connected
          ? 'none'
          : state.busy || state.pending
            ? 'busy'
            : 'idle';
      const facts: [string, string][] = [
        ['Port', state.port ? `${state.port}${state.baud ? ` @ ${state.baud} baud` : ''}` : '—'],
        [
          'Firmware',
          state.firmware ? `${formatFirmware(state.firmware)} (${state.firmware.version})` : '—'
        ],
        ['Chip', state.firmware?.machine ?? '—'],
        ['Memory', formatHeap(state.free_heap) || '—']
      ];
      body = h(
        'section',
        { class: 'jp-ESP32-connection' },
        h(
          'div',
          { class: 'jp-ESP32-status', 'data-state': kindClass },
          h('span', { class: 'jp-ESP32-dot', 'aria-hidden': 'true' }),
          h('span', { class: 'jp-ESP32-label' }, boardLabel(state)),
          h('span', { class: 'jp-ESP32-activity' }, activity(state))
        ),
        h(
          'dl',
          { class: 'jp-ESP32-facts' },
          ...facts.flatMap(([name, value]) => [h('dt', {}, name), h('dd', {}, value)])
        ),
        state.lost || state.error
          ? h('p', { class: 'jp-ESP32-problem' }, state.lost ?? state.error ?? '')
          : null,
        h(
          'div',
          { class: 'jp-ESP32-actions' },
          button('interrupt', 'Interrupt', 'Send Ctrl-C to the board (stops the running code)'),
          button(
            'soft_reset',
            'Soft reset',
            'Soft reboot: boot.py and main.py run again; variables are cleared'
          ),
          button(
            'hard_reset',
            'Hard reset',
            'Reset the chip (the EN line, or the emulator’s reset)'
          ),
          button(
            'disconnect',
            'Disconnect',
            'Close the link (stops the emulator if the kernel started it)'
          )
        )
      );
    }

    const notice = model?.notice;
    const noticeNode = notice
      ? h(
          'p',
          { class: `jp-ESP32-notice ${notice.ok ? 'jp-mod-ok' : 'jp-mod-error'}`, role: 'status' },
          notice.text
        )
      : null;

    const ports = this._ports;
    const current = state?.port;
    const portRows = (ports ?? []).map(port =>
      h(
        'li',
        { class: 'jp-ESP32-port', 'data-current': port.device === current ? 'true' : undefined },
        h(
          'div',
          { class: 'jp-ESP32-portName' },
          h('span', { class: 'jp-ESP32-device' }, port.device),
          h(
            'span',
            { class: 'jp-ESP32-portInfo' },
            [
              port.bridge
                ? `ESP32? ${port.bridge}`
                : port.description === 'n/a'
                  ? ''
                  : port.description,
              port.vid_pid !== '-' ? port.vid_pid : ''
            ]
              .filter(Boolean)
              .join(' · ')
          )
        ),
        button('connect', 'Connect', `Connect the kernel to ${port.device}`, {
          'data-port': port.device
        })
      )
    );
    const emulatorRow = h(
      'li',
      { class: 'jp-ESP32-port', 'data-current': state?.kind === 'emulator' ? 'true' : undefined },
      h(
        'div',
        { class: 'jp-ESP32-portName' },
        h('span', { class: 'jp-ESP32-device' }, 'Emulator'),
        h('span', { class: 'jp-ESP32-portInfo' }, 'the bundled emulated ESP32 (real MicroPython)')
      ),
      button('connect', 'Connect', 'Start the emulated ESP32 and connect to it', {
        'data-port': EMULATOR
      })
    );
    const onThisComputer = state?.port === WEBSERIAL;
    const thisComputerRow = h(
      'li',
      { class: 'jp-ESP32-port', 'data-current': onThisComputer ? 'true' : undefined },
      h(
        'div',
        { class: 'jp-ESP32-portName' },
        h('span', { class: 'jp-ESP32-device' }, 'This computer'),
        h(
          'span',
          { class: 'jp-ESP32-portInfo' },
          hasWebSerial()
            ? 'a board plugged into the computer this browser runs on (Web Serial)'
            : NO_WEB_SERIAL
        )
      ),
      hasWebSerial()
        ? button(
            'connect',
            onThisComputer && state?.lost && this.boards.webSerial.hasPort
              ? 'Reconnect'
              : 'Connect…',
            'Connect a board on this computer: choose its USB port in the browser, and the cells run on it',
            { 'data-port': WEBSERIAL }
          )
        : null
    );
    const portsSection = h(
      'section',
      { class: 'jp-ESP32-ports' },
      h(
        'div',
        { class: 'jp-ESP32-sectionHead' },
        h('h3', {}, 'Ports'),
        h(
          'button',
          {
            class: 'jp-ESP32-button jp-mod-styled',
            'data-command': 'list-ports',
            title: 'List the serial ports again'
          },
          'Rescan'
        )
      ),
      this._portsError ? h('p', { class: 'jp-ESP32-problem' }, this._portsError) : null,
      ports === null
        ? h('p', { class: 'jp-ESP32-hint' }, 'Looking for serial ports…')
        : ports.length === 0
          ? h('p', { class: 'jp-ESP32-hint' }, 'No serial ports found on this machine.')
          : null,
      h('ul', { class: 'jp-ESP32-portList' }, ...portRows, emulatorRow, thisComputerRow),
      h(
        'div',
        { class: 'jp-ESP32-urlRow' },
        h('input', {
          class: 'jp-ESP32-url jp-mod-styled',
          type: 'text',
          placeholder: 'socket://host:port or /dev/ttyUSB0',
          'aria-label': 'Port or URL to connect to',
          disabled: !model || !enabled.has('connect')
        }),
        button('connect', 'Connect', 'Connect the kernel to this port or URL', { 'data-port': '' })
      )
    );

    // Keep what the user is typing across re-renders.

    const typed =
      (this.node.querySelector('.jp-ESP32-url') as HTMLInputElement | null)?.value ?? '';
    const hadFocus = document.activeElement?.classList.contains('jp-ESP32-url') ?? false;
    this._topNode.replaceChildren(header, body, ...(noticeNode ? [noticeNode] : []));
    this._portsNode.replaceChildren(portsSection);
    const input = this.node.querySelector('.jp-ESP32-url') as HTMLInputElement | null;
    if (input) {
      input.value = typed;
      if (hadFocus) {
        input.focus();
      }
    }
    this._renderFiles();
    this._renderPins();
    this._renderBench();
  }

  /** A collapsible section whose open/closed state survives re-renders. */
  private _section(
    key: string,
    className: string,
    title: string,
    tools: (HTMLElement | null)[],
    ...content: (Node | string | null | undefined | false)[]
  ): HTMLElement {
    const details = h(
      'details',
      { class: `jp-ESP32-section ${className}`, open: this._open[key] ?? true },
      h('summary', {}, h('h3', {}, title), h('span', { class: 'jp-ESP32-tools' }, ...tools)),
      ...content
    );
    details.addEventListener('toggle', () => {
      this._open[key] = (details as HTMLDetailsElement).open;
      if (key === 'files' && this._open[key]) {
        this._maybeLoadFiles();
      }
    });
    return details;
  }

  private _fileButton(
    action: string,
    label: string,
    title: string,
    entry?: IFileEntry,
    disabled = false,
    name = label
  ) {
    return h(
      'button',
      {
        class: 'jp-ESP32-button jp-mod-styled',
        'data-command': 'file',
        'data-action': action,
        'data-name': entry?.name,
        'data-dir': entry ? String(entry.dir) : undefined,
        title,
        'aria-label': entry ? `${name} ${entry.name}` : name,
        disabled
      },
      label
    );
  }

  private _renderFiles(force = false): void {
    const model = this.boards.current;
    const state = model?.state ?? null;
    if (!model || !state?.connected) {
      this._filesNode.replaceChildren();
      this._filesNode.hidden = true;
      this._filesKey = '';
      return;
    }
    const key = JSON.stringify([
      this._folder,
      this._entries,
      this._fsFree,
      this._filesError,
      this._uploading,
      this._entries === null && this._filesLoading,
      !state.busy && !state.pending
    ]);
    if (!force && key === this._filesKey && this._filesNode.firstChild) {
      return;
    }
    this._filesKey = key;
    this._filesNode.hidden = false;
    const free = !state.busy && !state.pending;
    const entries = this._entries;
    const rows = (entries ?? []).map(entry =>
      h(
        'li',
        { class: 'jp-ESP32-file', 'data-dir': entry.dir ? 'true' : undefined },
        h(
          'button',
          {
            class: 'jp-ESP32-fileName',
            'data-command': 'file',
            'data-action': 'enter',
            'data-name': entry.name,
            'data-dir': String(entry.dir),
            title: entry.dir ? `Open the folder ${entry.name}` : `Open ${entry.name} in the editor`,
            disabled: !free
          },
          entry.dir ? `${entry.name}/` : entry.name
        ),
        h('span', { class: 'jp-ESP32-fileSize' }, entry.dir ? '' : formatSize(entry.size)),
        h(
          'span',
          { class: 'jp-ESP32-fileActions' },
          entry.dir
            ? null
            : this._fileButton(
                'open',
                'Open',
                'Open in JupyterLab’s editor; saving writes it back to the board',
                entry,
                !free
              ),
          entry.dir
            ? null
            : this._fileButton(
                'download',
                '⬇',
                'Download to this computer',
                entry,
                !free,
                'Download'
              ),
          this._fileButton('delete', '✕', 'Delete from the board', entry, !free, 'Delete')
        )
      )
    );
    const section = this._section(
      'files',
      'jp-ESP32-files',
      'Files on the board',
      [],
      h(
        'div',
        { class: 'jp-ESP32-fileBar' },
        h('span', { class: 'jp-ESP32-folder', title: 'The board folder shown' }, this._folder),
        this._fileButton('up', 'Up', 'The parent folder', undefined, this._folder === '/' || !free),
        this._fileButton('refresh', 'Refresh', 'List the folder again', undefined, !free),
        this._fileButton(
          'upload',
          'Upload…',
          'Send files from this computer to this board folder (or drop them here)',
          undefined,
          !free
        ),
        h('input', {
          class: 'jp-ESP32-fileInput',
          type: 'file',
          multiple: true,
          hidden: true,
          'aria-label': 'Files to upload to the board'
        })
      ),
      this._filesError ? h('p', { class: 'jp-ESP32-problem' }, this._filesError) : null,
      this._uploading ? h('p', { class: 'jp-ESP32-hint' }, `Sending ${this._uploading}…`) : null,
      entries === null
        ? h(
            'p',
            { class: 'jp-ESP32-hint' },
            free ? 'Listing the board’s files…' : 'The files are listed when the board is idle.'
          )
        : entries.length === 0
          ? h('p', { class: 'jp-ESP32-hint' }, 'This folder is empty.')
          : h('ul', { class: 'jp-ESP32-fileList', 'aria-label': 'Files on the board' }, ...rows),
      h(
        'p',
        { class: 'jp-ESP32-hint jp-ESP32-dropHint' },
        `Drop files here to upload them to ${this._folder}.${this._fsFree !== null && this._fsFree < 64 * 1024 * 1024 ? ` ${formatSize(this._fsFree)} free.` : ''} Transfers are verified (sha256) and never leave a half-written file.`
      )
    );
    this._filesNode.replaceChildren(section);
  }

  private _renderPins(): void {
    const model = this.boards.current;
    const view = model?.state?.connected ? model.pins : null;
    const pinsKey = JSON.stringify(view);
    if (pinsKey === this._pinsKey && this._pinsNode.firstChild) {
      return;
    }
    this._pinsKey = pinsKey;
    const profile = view?.profile ?? null;
    const bench = view?.bench;
    const analogPins = new Set([
      ...Object.keys(bench?.pots ?? {}),
      ...Object.keys(bench?.thermistors ?? {}),
      ...Object.keys(bench?.sources ?? {})
    ]);
    const grid = h(
      'ul',
      { class: 'jp-ESP32-pinGrid', 'aria-label': 'ESP32 GPIO pins' },
      ...allPins().map(pin => {
        const live = view?.pins[String(pin.gpio)] ?? null;
        const look = pin.use === 'flash' ? 'unused' : pinLook(live);
        const labels = boardLabels(profile, pin.gpio);
        // An ADC pin's voltage, when something analog is on it (a floating pin reads 0 V).
        const analog =
          pin.adc &&
          live &&
          typeof live.volts === 'number' &&
          look !== 'out-high' &&
          look !== 'out-low' &&
          (live.volts > 0.004 || analogPins.has(String(pin.gpio)))
            ? formatVolts(live.volts)
            : '';
        return h(
          'li',
          {
            class: 'jp-ESP32-pin',
            'data-gpio': String(pin.gpio),
            'data-use': pin.use,
            'data-adc': pin.adc ? 'true' : undefined,
            'data-look': look,
            'data-level': live ? String(live.level) : undefined,
            title: describeLive(pin.gpio, live, profile)
          },
          h('span', { class: 'jp-ESP32-pinNumber' }, String(pin.gpio)),
          h('span', { class: 'jp-ESP32-pinLabel' }, labels[0] ?? ''),
          h(
            'span',
            { class: 'jp-ESP32-pinTag' },
            analog ||
              (look === 'out-high' || look === 'in-high'
                ? '1'
                : look === 'out-low' || look === 'in-low'
                  ? '0'
                  : look === 'pwm'
                    ? 'PWM'
                    : pin.use === 'flash'
                      ? 'flash'
                      : pin.use === 'input-only'
                        ? 'in'
                        : (pin.dac ?? pin.adc?.slice(0, 4) ?? ''))
          )
        );
      })
    );
    const legend = h(
      'ul',
      { class: 'jp-ESP32-legend', 'aria-label': 'Pin colours' },
      ...(
        [
          ['out-high', 'output 1'],
          ['out-low', 'output 0'],
          ['in-high', 'input 1'],
          ['in-low', 'input 0'],
          ['pwm', 'PWM'],
          ['dac', 'DAC']
        ] as const
      ).map(([look, text]) =>
        h('li', {}, h('span', { class: 'jp-ESP32-swatch', 'data-look': look }), text)
      )
    );
    const source = !view
      ? 'Live levels appear once a board is connected.'
      : view.source === 'emulator'
        ? `Live from the emulator’s bench${profile ? ` (board: ${profile.name})` : ''}.`
        : `Read from the board between cells${profile?.assumed ? ` (labels: ${profile.name}, assumed)` : ''}.`;
    const section = this._section(
      'pins',
      'jp-ESP32-pins',
      'Pins (chip GPIO numbers)',
      [],
      grid,
      legend,
      h(
        'p',
        { class: 'jp-ESP32-hint' },
        `${source} MicroPython numbers pins as the chip does: Pin(2) is GPIO 2, whatever the board prints beside it. 6–11 drive the flash; 34–39 are inputs only.`
      )
    );
    this._pinsNode.replaceChildren(section);
  }

  private _renderBench(): void {
    const model = this.boards.current;
    const view = model?.state?.connected ? model.pins : null;
    const bench = view?.source === 'emulator' ? view.bench : null;
    if (!bench) {
      this._benchNode.replaceChildren();
      this._benchNode.hidden = true;
      return;
    }
    // Do not pull a slider from under the pointer; redraw only when the bench changed.
    const key = JSON.stringify([bench, view?.profile?.id]);
    if (this._sliding || (key === this._benchKey && this._benchNode.firstChild)) {
      return;
    }
    this._benchKey = key;
    this._benchNode.hidden = false;
    const profile = view?.profile ?? null;
    const parts = benchParts(bench);
    this._parts = parts;
    const pinName = (gpio: number) => {
      const labels = boardLabels(profile, gpio);
      return `GPIO ${gpio}${labels.length ? ` (${labels[0]})` : ''}`;
    };
    const control = (part: IPart) => {
      if (part.kind === 'button') {
        return h(
          'button',
          {
            class: 'jp-ESP32-button jp-mod-styled',
            'data-command': 'bench',
            'data-action': 'press',
            'data-gpio': String(part.gpio),
            title: `Press the button on GPIO ${part.gpio} (released after 0.3 s)`,
            'aria-label': `Press the button on GPIO ${part.gpio}`
          },
          'Press'
        );
      }
      if (part.kind === 'pot' || part.kind === 'thermistor') {
        const pot = part.kind === 'pot';
        return h('input', {
          class: 'jp-ESP32-slider',
          type: 'range',
          min: pot ? '0' : '-20',
          max: pot ? '1' : '100',
          step: pot ? '0.01' : '0.5',
          value: String(part.value ?? 0),
          'data-kind': part.kind,
          'data-gpio': String(part.gpio),
          'aria-label': pot
            ? `Potentiometer on GPIO ${part.gpio}`
            : `Temperature of the thermistor on GPIO ${part.gpio}`
        });
      }
      return null;
    };
    const rows = parts.map(part =>
      h(
        'li',
        { class: 'jp-ESP32-part', 'data-kind': part.kind, 'data-gpio': String(part.gpio) },
        h('span', { class: 'jp-ESP32-partPin' }, pinName(part.gpio)),
        h('span', { class: 'jp-ESP32-partSummary' }, part.summary),
        h(
          'span',
          { class: 'jp-ESP32-partControls' },
          control(part),
          h(
            'button',
            {
              class: 'jp-ESP32-button jp-mod-styled',
              'data-command': 'bench',
              'data-action': 'remove',
              'data-gpio': String(part.gpio),
              title: `Take everything off GPIO ${part.gpio} (parts, sources, outside drive)`
            },
            '×'
          )
        )
      )
    );
    const devices = bleDevices(bench);
    this._bleDevices = devices;
    const bleRows = devices.map(device =>
      h(
        'li',
        { class: 'jp-ESP32-part', 'data-kind': 'ble', 'data-name': device.name },
        h(
          'span',
          { class: 'jp-ESP32-partPin', title: `Bluetooth LE, address ${device.mac}` },
          `BLE ${device.name}`
        ),
        h('span', { class: 'jp-ESP32-partSummary' }, describeBle(device)),
        h(
          'span',
          { class: 'jp-ESP32-partControls' },
          ...Object.entries(BLE_SETTINGS)
            .filter(([setting]) => typeof device[setting as keyof IBleDevice] === 'number')
            .flatMap(([setting, range]) => [
              h('input', {
                class: 'jp-ESP32-slider',
                type: 'range',
                min: String(range.min),
                max: String(range.max),
                step: String(range.step),
                value: String(device[setting as keyof IBleDevice]),
                'data-ble': device.name,
                'data-setting': setting,
                'aria-label': `${range.label} of ${device.name}`,
                title: range.label
              }),
              h('span', { class: 'jp-ESP32-sliderUnit' }, range.unit)
            ])
        )
      )
    );
    const usable = allPins().filter(pin => pin.use !== 'flash');
    const kindSelect = h(
      'select',
      { class: 'jp-ESP32-addKind jp-mod-styled', 'aria-label': 'Part or source to add' },
      ...ADDABLE.map(kind =>
        h('option', { value: kind, selected: kind === this._addKind }, ADDABLE_LABELS[kind])
      )
    );
    const pinOptions = (kind: Addable) =>
      usable
        .filter(pin => (needsAdc(kind) ? !!pin.adc : kind === 'led' ? pin.use === 'gpio' : true))
        .map(pin =>
          h(
            'option',
            { value: String(pin.gpio), selected: pin.gpio === this._addPin },
            `${pinName(pin.gpio)}${pin.adc ? ` · ${pin.adc}` : ''}`
          )
        );
    const pinSelect = h(
      'select',
      {
        class: 'jp-ESP32-addPin jp-mod-styled',
        'aria-label': 'On which GPIO',
        disabled: isBle(this._addKind)
      },
      ...pinOptions(this._addKind)
    );
    pinSelect.addEventListener('change', () => {
      this._addPin = Number((pinSelect as HTMLSelectElement).value);
    });
    kindSelect.addEventListener('change', () => {
      this._addKind = (kindSelect as HTMLSelectElement).value as Addable;
      pinSelect.replaceChildren(...pinOptions(this._addKind));
      (pinSelect as HTMLSelectElement).disabled = isBle(this._addKind); // a radio of its own: no pin
      this._addPin = Number((pinSelect as HTMLSelectElement).value);
    });
    const section = this._section(
      'bench',
      'jp-ESP32-bench',
      'Bench (emulator)',
      [],
      parts.length || bleRows.length
        ? h(
            'ul',
            { class: 'jp-ESP32-partList', 'aria-label': 'Parts on the bench' },
            ...rows,
            ...bleRows
          )
        : h('p', { class: 'jp-ESP32-hint' }, 'Nothing on the bench yet.'),
      h(
        'div',
        { class: 'jp-ESP32-addRow' },
        kindSelect,
        h('span', {}, 'on'),
        pinSelect,
        h(
          'button',
          {
            class: 'jp-ESP32-button jp-mod-styled',
            'data-command': 'bench',
            'data-action': 'add',
            title: 'Put this on the bench'
          },
          'Add'
        )
      ),
      h(
        'p',
        { class: 'jp-ESP32-hint' },
        'The world around the emulated chip: buttons to press, a potentiometer or thermistor on an ADC pin, signal sources, Bluetooth LE devices in its air. Changes reach running code at once.'
      )
    );
    this._benchNode.replaceChildren(section);
  }

  private _model: BoardModel | null = null;
  private _ports: IPort[] | null = null;
  private _portsError = '';
  private _open: Record<string, boolean> = {};
  private _topNode = h('div', { class: 'jp-ESP32-top' });
  private _filesNode = h('div', { class: 'jp-ESP32-filesBox' });
  private _pinsNode = h('div', { class: 'jp-ESP32-pinsBox' });
  private _benchNode = h('div', { class: 'jp-ESP32-benchBox' });
  private _portsNode = h('div', { class: 'jp-ESP32-portsBox' });
  private _folder = '/';
  private _entries: IFileEntry[] | null = null;
  private _fsFree: number | null = null;
  private _filesError = '';
  private _filesLoading = false;
  private _filesWanted = false;
  private _uploading = '';
  private _wasBusy = false;
  private _parts: IPart[] = [];
  private _bleDevices: IBleDevice[] = [];
  private _addKind: Addable = 'button';
  private _addPin = 0;
  private _sliding = false;
  private _benchKey = '';
  private _filesKey = '';
  private _pinsKey = '';
}

/** The status-bar item: what board this notebook runs on; a click opens the panel. */
export class BoardStatus extends Widget {
  constructor(
    private readonly boards: BoardRegistry,
    private readonly open: () => void
  ) {
    super({ node: document.createElement('button') });
    this.addClass('jp-ESP32-statusItem');
    this.addClass('jp-StatusBar-TextItem');
    this.node.addEventListener('click', () => this.open());
    boards.changed.connect(() => this.update(), this);
    this.update();
  }

  protected onUpdateRequest(): void {
    const model = this.boards.current;
    const state = model?.state ?? null;
    const { text, title } = statusText(state);
    const kind = !state
      ? 'none'
      : state.lost
        ? 'lost'
        : !state.connected
          ? 'none'
          : state.busy || state.pending
            ? 'busy'
            : 'idle';
    this.node.dataset.state = kind;
    this.node.title = title;
    this.node.replaceChildren(
      h('span', { class: 'jp-ESP32-dot', 'aria-hidden': 'true' }),
      h('span', { class: 'jp-ESP32-statusText' }, text)
    );
  }
}
