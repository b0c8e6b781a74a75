/**
 * Thread ids are `{accountId}__{clientJid}` (the runbook's `threads/{threadId}` documents): the one
 * place that knows the format. An account id never contains the separator nor ends in `_`
 * (`accountIdFitsThreadIds`), so the first `__` of a thread id always ends its account id.
 */
export const THREAD_ID_SEPARATOR = '__';

export function threadIdOf(accountId: string, clientJid: string): string {
  return `${accountId}${THREAD_ID_SEPARATOR}${clientJid}`;
}

/** Whether the thread id names a thread of this account (another account's thread is simply not there). */
export function isThreadOf(accountId: string, threadId: string): boolean {
  return threadId.startsWith(`${accountId}${THREAD_ID_SEPARATOR}`);
}

/** An account id that keeps thread ids unambiguous: no separator inside, no `_` at the end. */
export function accountIdFitsThreadIds(accountId: string): boolean {
  return !accountId.includes(THREAD_ID_SEPARATOR) && !accountId.endsWith('_');
}
