/**
 * The state of the app's WebSocket to Zeus, as the user should see it. graphql-ws reports its
 * socket's life through events; this turns them into one value React can subscribe to.
 */

export type ConnectionState =
  /** Opening the first connection. */
  | 'connecting'
  /** Connected: live progress flows. */
  | 'connected'
  /** The connection dropped (a server restarted, the network went away) and is being retried. */
  | 'reconnecting'
  /**
   * Zeus refused the API key the app sent (or that it sent none): the key prompt says so, and
   * the app retries, with the key entered by then. Not a dropped connection.
   */
  | 'refused';

type Listener = (state: ConnectionState) => void;

export class ConnectionMonitor {
  #state: ConnectionState = 'connecting';
  readonly #listeners = new Set<Listener>();

  get state(): ConnectionState {
    return this.#state;
  }

  set(state: ConnectionState): void {
    if (state === this.#state) return;
    this.#state = state;
    for (const listener of this.#listeners) listener(state);
  }

  /** Calls `listener` on every change; returns the function that stops it. */
  subscribe(listener: Listener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
