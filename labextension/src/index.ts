/**
 * esp32-kernel's JupyterLab extension: see the board beside the notebook.
 *
 * - a status-bar item for notebooks on the ESP32 kernel (board or emulator, port,
 *   firmware, free heap, busy/idle); a click opens the board panel;
 * - the board panel in the left sidebar: ports, connect/disconnect, interrupt, resets;
 * - commands in the palette, and a toolbar button on ESP32 notebooks.
 */
import { ILabShell, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette, ToolbarButton } from '@jupyterlab/apputils';
import { DocumentRegistry } from '@jupyterlab/docregistry';
import { INotebookModel, INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { IStatusBar } from '@jupyterlab/statusbar';
import { LabIcon } from '@jupyterlab/ui-components';
import { Contents } from '@jupyterlab/services';
import { DisposableDelegate, IDisposable } from '@lumino/disposable';
import { Signal } from '@lumino/signaling';

import { BoardDrive, drivePath, joinPath } from './files';
import { BoardModel, BoardRegistry } from './model';
import { BoardPanel, BoardStatus } from './panel';
import { Command, KERNEL_NAME } from './protocol';

const CHIP_SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="#616161">
    <path d="M7 5h10a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H7a2 2 0 0 1-2-2V7a2 2 0 0 1 2-2zm1 3v8h8V8H8z"/>
    <path d="M8 1h2v3H8zM14 1h2v3h-2zM8 20h2v3H8zM14 20h2v3h-2zM1 8h3v2H1zM1 14h3v2H1zM20 8h3v2h-3zM20 14h3v2h-3z"/>
  </g>
</svg>`;

export const chipIcon = new LabIcon({ name: 'esp32-kernel:chip', svgstr: CHIP_SVG });

/** Command ids. */
export namespace CommandIDs {
  export const openPanel = 'esp32-kernel:open-board-panel';
  export const interrupt = 'esp32-kernel:interrupt';
  export const softReset = 'esp32-kernel:soft-reset';
  export const hardReset = 'esp32-kernel:hard-reset';
  export const disconnect = 'esp32-kernel:disconnect';
  export const connectEmulator = 'esp32-kernel:connect-emulator';
  export const refresh = 'esp32-kernel:refresh';
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'esp32-kernel:plugin',
  description:
    'See the ESP32 beside the notebook: connection, firmware, heap, ports, reset and interrupt.',
  autoStart: true,
  requires: [INotebookTracker],
  optional: [ILabShell, ICommandPalette, IStatusBar],
  activate: (
    app: JupyterFrontEnd,
    tracker: INotebookTracker,
    labShell: ILabShell | null,
    palette: ICommandPalette | null,
    statusBar: IStatusBar | null
  ) => {
    const boards = new BoardRegistry(tracker);

    // The board's files as a contents drive: JupyterLab's editor opens `ESP32:main.py` and
    // saves it back through the kernel of the notebook it was opened from.
    const owners = new Map<string, BoardModel>();
    const drive = new BoardDrive(localPath => {
      const owner = owners.get(joinPath('/', localPath));
      const model = owner && !owner.isDisposed && owner.state ? owner : boards.current;
      return model ? (command, args) => model.run(command as any, args) : null;
    }, app.serviceManager.serverSettings);
    drive.fileChangedSignal = new Signal<Contents.IDrive, Contents.IChangedArgs>(drive);
    app.serviceManager.contents.addDrive(drive);
    const openFile = async (model: BoardModel, path: string) => {
      owners.set(joinPath('/', path), model);
      await app.commands.execute('docmanager:open', { path: drivePath(path), factory: 'Editor' });
    };

    const panel = new BoardPanel(boards, openFile);
    panel.title.icon = chipIcon;
    app.shell.add(panel, 'left', { rank: 900 });

    const openPanel = () => {
      app.shell.activateById(panel.id);
    };

    const { commands } = app;
    const boardCommand = (id: string, command: Command, label: string, caption: string) => {
      commands.addCommand(id, {
        label,
        caption,
        isEnabled: () => {
          const model = boards.current;
          return (
            !!model &&
            !!model.state &&
            (command === 'connect' || command === 'disconnect' || !!model.state.connected)
          );
        },
        execute: async args => {
          const model = boards.current;
          if (!model) {
            return;
          }
          return model.run(
            command,
            command === 'connect' ? { port: (args.port as string) ?? 'emulator' } : {}
          );
        }
      });
    };
    commands.addCommand(CommandIDs.openPanel, {
      label: 'Show the ESP32 Board Panel',
      caption: 'The board of the current notebook: connection, ports, reset',
      icon: chipIcon,
      execute: openPanel
    });
    boardCommand(
      CommandIDs.interrupt,
      'interrupt',
      'Interrupt the ESP32 (Ctrl-C)',
      'Send Ctrl-C to the board'
    );
    boardCommand(
      CommandIDs.softReset,
      'soft_reset',
      'Soft Reset the ESP32',
      'Soft reboot: boot.py and main.py run again'
    );
    boardCommand(CommandIDs.hardReset, 'hard_reset', 'Hard Reset the ESP32', 'Reset the chip');
    boardCommand(
      CommandIDs.disconnect,
      'disconnect',
      'Disconnect the ESP32',
      'Close the link to the board'
    );
    boardCommand(
      CommandIDs.connectEmulator,
      'connect',
      'Connect the Emulated ESP32',
      'Start the emulator and connect to it'
    );
    boardCommand(
      CommandIDs.refresh,
      'refresh',
      'Refresh the ESP32 Status',
      'Ask the board for its firmware and free memory'
    );
    boards.changed.connect(() => commands.notifyCommandChanged());

    if (palette) {
      const category = 'ESP32';
      for (const command of Object.values(CommandIDs)) {
        palette.addItem({ command, category });
      }
    }

    if (statusBar) {
      const item = new BoardStatus(boards, openPanel);
      statusBar.registerStatusItem('esp32-kernel:status', {
        item,
        align: 'left',
        rank: 5,
        isActive: () => boards.current !== null,
        activeStateChanged: boards.changed
      });
    }

    app.docRegistry.addWidgetExtension('Notebook', new ToolbarExtension(app));
  }
};

/** A toolbar button on notebooks of the ESP32 kernel: soft reset the board; hidden elsewhere. */
class ToolbarExtension implements DocumentRegistry.IWidgetExtension<NotebookPanel, INotebookModel> {
  constructor(private readonly app: JupyterFrontEnd) {}

  createNew(panel: NotebookPanel): IDisposable {
    const button = new ToolbarButton({
      className: 'jp-ESP32-toolbarButton',
      icon: chipIcon,
      label: 'Reset board',
      tooltip:
        'Soft reset the ESP32 (boot.py and main.py run again) — more in the ESP32 board panel',
      onClick: () => {
        void this.app.commands.execute(CommandIDs.softReset);
      }
    });
    const sync = () => {
      button.setHidden(panel.sessionContext.session?.kernel?.name !== KERNEL_NAME);
    };
    panel.toolbar.insertAfter('cellType', 'esp32-reset', button);
    panel.sessionContext.kernelChanged.connect(sync);
    void panel.sessionContext.ready.then(sync);
    sync();
    return new DisposableDelegate(() => {
      panel.sessionContext.kernelChanged.disconnect(sync);
      button.dispose();
    });
  }
}

export default plugin;
