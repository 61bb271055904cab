/**
 * The board panel (left sidebar) and the status-bar item.
 */
import { Widget } from '@lumino/widgets';

import { BoardModel, BoardRegistry } from './model';
import {
  activity,
  boardLabel,
  Command,
  enabledCommands,
  formatFirmware,
  formatHeap,
  IPort,
  statusText
} from './protocol';
import { allPins } from './pins';
import { fetchPorts } from './request';

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

/** The sidebar panel: the board of the current notebook, its ports and its actions. */
export class BoardPanel extends Widget {
  constructor(private readonly boards: BoardRegistry) {
    super();
    this.id = 'esp32-kernel-board-panel';
    this.addClass('jp-ESP32-panel');
    this.title.caption = 'ESP32 board';
    boards.changed.connect(() => this._onChange(), this);
    this.node.addEventListener('click', this._onClick);
    this.node.addEventListener('keydown', this._onKeyDown);
    this._render();
  }

  dispose(): void {
    this.node.removeEventListener('click', this._onClick);
    this.node.removeEventListener('keydown', this._onKeyDown);
    super.dispose();
  }

  protected onAfterShow(): void {
    this._render();
    if (!this._ports) {
      void this.refreshPorts();
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
    if (model !== this._model) {
      this._model = model;
      this._ports = null;
      if (this.isVisible) {
        void this.refreshPorts();
      }
    }
    if (this.isVisible) {
      this._render();
    }
  }

  private _onClick = (event: MouseEvent): void => {
    const button = (event.target as HTMLElement).closest(
      'button[data-command]'
    ) as HTMLButtonElement | null;
    if (!button || button.disabled) {
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
      h('ul', { class: 'jp-ESP32-portList' }, ...portRows, emulatorRow),
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

    const pinsSection = h(
      'details',
      { class: 'jp-ESP32-pins', open: this._pinsOpen },
      h('summary', {}, h('h3', {}, 'Pins (chip GPIO numbers)')),
      h(
        'ul',
        { class: 'jp-ESP32-pinGrid', 'aria-label': 'ESP32 GPIO pins' },
        ...allPins().map(pin =>
          h(
            'li',
            {
              class: 'jp-ESP32-pin',
              'data-use': pin.use,
              'data-adc': pin.adc ? 'true' : undefined,
              title: `GPIO ${pin.gpio}: ${pin.note}`
            },
            h('span', { class: 'jp-ESP32-pinNumber' }, String(pin.gpio)),
            h(
              'span',
              { class: 'jp-ESP32-pinTag' },
              pin.use === 'flash'
                ? 'flash'
                : pin.use === 'input-only'
                  ? 'in'
                  : (pin.dac ?? pin.adc?.slice(0, 4) ?? '')
            )
          )
        )
      ),
      h(
        'p',
        { class: 'jp-ESP32-hint' },
        'MicroPython numbers pins as the chip does: Pin(2) is GPIO 2, whatever the board prints beside it. 6–11 drive the flash; 34–39 are inputs only.'
      )
    );

    // Keep what the user is typing across re-renders.

    const typed =
      (this.node.querySelector('.jp-ESP32-url') as HTMLInputElement | null)?.value ?? '';
    const hadFocus = document.activeElement?.classList.contains('jp-ESP32-url') ?? false;
    this.node.replaceChildren(
      header,
      body,
      ...(noticeNode ? [noticeNode] : []),
      portsSection,
      pinsSection
    );
    pinsSection.addEventListener('toggle', () => {
      this._pinsOpen = (pinsSection as HTMLDetailsElement).open;
    });
    const input = this.node.querySelector('.jp-ESP32-url') as HTMLInputElement | null;
    if (input) {
      input.value = typed;
      if (hadFocus) {
        input.focus();
      }
    }
  }

  private _model: BoardModel | null = null;
  private _ports: IPort[] | null = null;
  private _portsError = '';
  private _pinsOpen = false;
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
