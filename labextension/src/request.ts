/**
 * The server endpoint of esp32_kernel.server_extension: what needs no kernel.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import { IPort } from './protocol';

/** GET /esp32-kernel/<endpoint>, with Jupyter's authentication and XSRF token. */
export async function requestAPI<T>(endpoint: string, init: RequestInit = {}): Promise<T> {
  const settings = ServerConnection.makeSettings();
  const url = URLExt.join(settings.baseUrl, 'esp32-kernel', endpoint);
  const response = await ServerConnection.makeRequest(url, init, settings);
  const text = await response.text();
  const data = text ? JSON.parse(text) : {};
  if (!response.ok) {
    throw new ServerConnection.ResponseError(response, data.message ?? text);
  }
  return data as T;
}

/** This machine's serial ports, as the Jupyter server sees them. */
export async function fetchPorts(): Promise<IPort[]> {
  const data = await requestAPI<{ ports: IPort[] }>('ports');
  return data.ports;
}
