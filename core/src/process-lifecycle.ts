/**
 * How Zeus's long-running processes end: on SIGTERM or SIGINT, or when the process that
 * started them with an IPC channel (the local stack's supervisor) goes away, they run their
 * shutdown once. A second signal during shutdown exits at once.
 */
/**
 * Exit code (sysexits' EX_CONFIG) of a process whose configuration cannot work: the local
 * stack's supervisor does not restart it, since it would fail the same way again.
 */
export const EXIT_CONFIG = 78;

export function onShutdown(shutdown: (reason: string) => Promise<void>): void {
  let shuttingDown = false;
  const begin = (reason: string): void => {
    if (shuttingDown) {
      process.exit(1);
    }
    shuttingDown = true;
    shutdown(reason).then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => {
    begin('SIGTERM');
  });
  process.on('SIGINT', () => {
    begin('SIGINT');
  });
  if (process.channel !== undefined) {
    process.on('disconnect', () => {
      begin('supervisor gone');
    });
    // The channel is only a lifeline: it must not keep the process alive by itself.
    process.channel.unref();
  }
}
