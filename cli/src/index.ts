/** Zeus's command-line client as a library: the program (`run`) and the API client it uses. */
export { parseCommand, UsageError, USAGE, DEFAULT_URL, type Command } from './args.ts';
export { ZeusApi, ZeusApiError, type JobsPage, type WatchHandlers } from './api.ts';
export { run, EXIT, type RunContext } from './commands.ts';
export { HumanReporter, JsonReporter, type Output, type Reporter } from './reporters.ts';
