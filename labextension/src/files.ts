/**
 * The board's files in JupyterLab: path helpers (pure, unit-tested), and a contents drive
 * named "ESP32" so that JupyterLab's own editor opens a board file as `ESP32:main.py` and
 * saves it back — every read and write goes through the kernel's comm (files_read /
 * files_write), which uses the file magics' transfer path (hash-verified, written under a
 * temporary name and renamed).
 */
import type { Contents } from '@jupyterlab/services';

import type { IFileEntry, IReply } from './protocol';

/** The drive's name: board files open as `ESP32:path/on/board.py`. */
export const DRIVE_NAME = 'ESP32';

/** "/lib" + "x.py" → "/lib/x.py"; always absolute, no doubled or trailing slashes. */
export function joinPath(folder: string, name: string): string {
  const parts = `${folder}/${name}`.split('/').filter(p => p && p !== '.');
  const out: string[] = [];
  for (const part of parts) {
    if (part === '..') {
      out.pop();
    } else {
      out.push(part);
    }
  }
  return `/${out.join('/')}`;
}

/** The folder holding `path` ("/" for the root and its files). */
export function parentPath(path: string): string {
  const clean = joinPath('/', path);
  const cut = clean.lastIndexOf('/');
  return cut <= 0 ? '/' : clean.slice(0, cut);
}

/** The last part of a path. */
export function baseName(path: string): string {
  const clean = joinPath('/', path);
  return clean.slice(clean.lastIndexOf('/') + 1);
}

/** "ESP32:lib/x.py" for the board path "/lib/x.py". */
export function drivePath(boardPath: string): string {
  return `${DRIVE_NAME}:${joinPath('/', boardPath).slice(1)}`;
}

/** Sizes as people read them: "812 B", "3.4 KB", "1.2 MB". */
export function formatSize(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined || !Number.isFinite(bytes)) {
    return '';
  }
  if (bytes < 1024) {
    return `${bytes} B`;
  }
  if (bytes < 1024 * 1024) {
    return `${(bytes / 1024).toFixed(1)} KB`;
  }
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/** Folders first, then files, each by name. */
export function sortEntries(entries: IFileEntry[]): IFileEntry[] {
  return [...entries].sort((a, b) =>
    a.dir !== b.dir ? (a.dir ? -1 : 1) : a.name < b.name ? -1 : a.name > b.name ? 1 : 0
  );
}

/** Bytes → base64 (in chunks: a large file must not blow the argument limit). */
export function bytesToBase64(bytes: Uint8Array): string {
  let binary = '';
  const chunk = 0x8000;
  for (let i = 0; i < bytes.length; i += chunk) {
    binary += String.fromCharCode(...bytes.subarray(i, i + chunk));
  }
  return btoa(binary);
}

export function base64ToBytes(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) {
    bytes[i] = binary.charCodeAt(i);
  }
  return bytes;
}

/** UTF-8 text, or null when the bytes are not text (then the file opens as base64). */
export function decodeText(bytes: Uint8Array): string | null {
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return text.includes('\u0000') ? null : text;
  } catch {
    return null;
  }
}

/** The file names a user may give: no slashes, not empty, not "." or "..". */
export function validName(name: string): boolean {
  return !!name && !name.includes('/') && name !== '.' && name !== '..' && !name.includes('\u0000');
}

/** What the drive needs from a board: the comm's file commands. */
export type FileRunner = (command: string, args: Record<string, unknown>) => Promise<IReply>;

/**
 * A contents drive over the board's files. `runnerFor(path)` says which board (which
 * notebook's kernel) owns a path: the one it was opened from, else the current notebook's.
 */
export class BoardDrive implements Contents.IDrive {
  constructor(
    private readonly runnerFor: (localPath: string) => FileRunner | null,
    readonly serverSettings: any
  ) {}

  readonly name = DRIVE_NAME;
  private _fileChanged: any = null;
  private _disposed = false;
  private _modified = new Map<string, string>();

  /** Set by the plugin to a lumino Signal (kept out of this module for the unit tests). */
  set fileChangedSignal(signal: any) {
    this._fileChanged = signal;
  }

  get fileChanged(): any {
    return this._fileChanged;
  }

  get isDisposed(): boolean {
    return this._disposed;
  }

  dispose(): void {
    this._disposed = true;
  }

  private async _run(localPath: string, command: string, args: Record<string, unknown>) {
    const runner = this.runnerFor(localPath);
    if (!runner) {
      throw new Error(
        'No notebook on the ESP32 kernel is open: the board’s files are out of reach.'
      );
    }
    const reply = await runner(command, args);
    if (!reply.ok) {
      throw new Error(reply.message || `${command} failed`);
    }
    return reply;
  }

  private _stamp(localPath: string, fresh = false): string {
    const key = joinPath('/', localPath);
    let stamp = this._modified.get(key);
    if (!stamp || fresh) {
      stamp = new Date().toISOString();
      this._modified.set(key, stamp);
    }
    return stamp;
  }

  async get(localPath: string, options?: Contents.IFetchOptions): Promise<Contents.IModel> {
    const path = joinPath('/', localPath);
    const name = baseName(path);
    if (options?.type === 'directory' || path === '/') {
      const reply = await this._run(path, 'files_list', { path });
      const content = sortEntries(reply.entries ?? []).map(entry => ({
        name: entry.name,
        path: joinPath(path, entry.name).slice(1),
        type: entry.dir ? 'directory' : 'file',
        created: '',
        last_modified: '',
        writable: true,
        mimetype: entry.dir ? '' : 'text/plain',
        content: null,
        format: null,
        size: entry.size
      }));
      return this._model(path, 'directory', options?.content === false ? null : content, 'json');
    }
    if (options?.content === false) {
      return { ...this._model(path, 'file', null, null), name };
    }
    const reply = await this._run(path, 'files_read', { path });
    const bytes = base64ToBytes(reply.content ?? '');
    const text = options?.format === 'base64' ? null : decodeText(bytes);
    this._stamp(path, true);
    return text === null
      ? this._model(path, 'file', reply.content ?? '', 'base64', bytes.length)
      : this._model(path, 'file', text, 'text', bytes.length);
  }

  private _model(
    path: string,
    type: Contents.ContentType,
    content: unknown,
    format: Contents.FileFormat,
    size?: number
  ): Contents.IModel {
    const stamp = this._stamp(path);
    return {
      name: baseName(path) || '/',
      path: path.slice(1),
      type,
      created: stamp,
      last_modified: stamp,
      writable: true,
      mimetype: type === 'directory' ? '' : 'text/plain',
      content,
      format,
      size
    } as Contents.IModel;
  }

  async save(localPath: string, options: Partial<Contents.IModel> = {}): Promise<Contents.IModel> {
    const path = joinPath('/', localPath);
    if (options.type === 'directory') {
      await this._run(path, 'files_mkdir', { path });
      return this._model(path, 'directory', null, null);
    }
    const raw = options.content ?? '';
    const content =
      options.format === 'base64'
        ? String(raw)
        : bytesToBase64(
            new TextEncoder().encode(typeof raw === 'string' ? raw : JSON.stringify(raw, null, 1))
          );
    const reply = await this._run(path, 'files_write', { path, content });
    this._stamp(path, true);
    const model = this._model(path, 'file', null, null, reply.size);
    this._fileChanged?.emit({ type: 'save', oldValue: null, newValue: model });
    return model;
  }

  async delete(localPath: string): Promise<void> {
    const path = joinPath('/', localPath);
    await this._run(path, 'files_delete', { path });
    this._modified.delete(path);
    this._fileChanged?.emit({ type: 'delete', oldValue: { path: path.slice(1) }, newValue: null });
  }

  async getDownloadUrl(): Promise<string> {
    throw new Error('Download board files from the ESP32 panel.');
  }

  async newUntitled(): Promise<Contents.IModel> {
    throw new Error('Make board files by uploading them, or with %put.');
  }

  async rename(): Promise<Contents.IModel> {
    throw new Error('Renaming board files is not offered yet.');
  }

  async copy(): Promise<Contents.IModel> {
    throw new Error('Copying board files is not offered yet.');
  }

  async createCheckpoint(localPath: string): Promise<Contents.ICheckpointModel> {
    return { id: 'board', last_modified: this._stamp(localPath) };
  }

  async listCheckpoints(): Promise<Contents.ICheckpointModel[]> {
    return [];
  }

  async restoreCheckpoint(): Promise<void> {
    throw new Error('The board keeps no checkpoints.');
  }

  async deleteCheckpoint(): Promise<void> {
    return;
  }
}
