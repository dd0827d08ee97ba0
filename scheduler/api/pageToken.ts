/**
 * Page tokens at the API boundary. A token is opaque to clients: the canonical base64url text of
 * what this server put in it (a list position, or the last schedule id of a page). Anything else
 * (another encoding, padding, a token cut or edited, an over-long string) is INVALID_ARGUMENT
 * naming `page_token`, never a silent restart from the first page or an empty last page.
 */
import { invalidArgument } from "../engine/errors.js";

/** The longest page token accepted (tokens this server issues are far shorter). */
export const MAX_PAGE_TOKEN_LENGTH = 512;

const BASE64URL = /^[A-Za-z0-9_-]+$/;
const NOT_ISSUED = "is not a page token returned by this list (pass next_page_token as is)";

/** What `token` holds; undefined for "" (the first page). */
export function pageTokenText(token: string, field = "page_token"): string | undefined {
  if (token === "") return undefined;
  if (token.length > MAX_PAGE_TOKEN_LENGTH) {
    throw invalidArgument(
      field,
      `must be at most ${MAX_PAGE_TOKEN_LENGTH} characters, got ${token.length}`,
    );
  }
  if (!BASE64URL.test(token)) throw invalidArgument(field, NOT_ISSUED);
  const bytes = Buffer.from(token, "base64url");
  // Only the canonical encoding: no trailing bits that decoding drops.
  if (bytes.toString("base64url") !== token) throw invalidArgument(field, NOT_ISSUED);
  const text = bytes.toString("utf8");
  if (Buffer.from(text, "utf8").toString("base64url") !== token) {
    throw invalidArgument(field, NOT_ISSUED);
  }
  return text;
}

export function pageTokenOf(text: string): string {
  return Buffer.from(text, "utf8").toString("base64url");
}

/**
 * Checks a ListTasks/ListDead token's shape here; its position (`<shard>:<offset>`) is checked by
 * Scheduler.list. Returns the token to pass on, undefined for the first page.
 */
export function listPageToken(token: string): string | undefined {
  const text = pageTokenText(token);
  if (text === undefined) return undefined;
  if (!/^\d{1,9}:\d{1,15}$/.test(text)) throw invalidArgument("page_token", NOT_ISSUED);
  return token;
}

/** The schedule id a ListSchedules token continues after; "" for the first page. */
export function schedulePageToken(token: string, isScheduleId: (id: string) => boolean): string {
  const text = pageTokenText(token);
  if (text === undefined) return "";
  if (!isScheduleId(text)) throw invalidArgument("page_token", NOT_ISSUED);
  return text;
}
