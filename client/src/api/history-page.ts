/**
 * Jobs per page of the history: a first screen at 1920×1080 (three or four cards a row) and some
 * to scroll into, while the first request stays small whatever the history holds. Its own module
 * because the boot script (boot/) asks for the first page too, without the app's libraries.
 */
export const HISTORY_PAGE_SIZE = 12;
