/**
 * The largest value each field of a frame may hold. A decoded frame is checked against these before
 * anything reads it (frame-checks.ts), and what this node sends is cut to them (errors.ts), so that a
 * peer's frame is refused for its shape, never by an exception deep inside the code that uses it.
 * Lengths are in string characters (UTF-16 code units), as `string.length` counts them.
 */

/** Method, event and error names. */
export const MAX_NAME_LENGTH = 256;
/** `src` and `dst`: the longest id node-id.ts accepts. */
export const MAX_NODE_ID_LENGTH = 128;
export const MAX_ROLE_LENGTH = 64;
/** Why a peer says bye or cancels a call. */
export const MAX_REASON_LENGTH = 1024;
/** A hello's auth token. */
export const MAX_TOKEN_LENGTH = 4096;
/** The resume secret of a hello or welcome. */
export const MAX_RESUME_LENGTH = 256;

/** Request ids are in [0, this): the caller's counter wraps before it (pending.ts). */
export const REQUEST_ID_LIMIT = 2 ** 31;

export const MAX_CAPABILITIES = 64;
export const MAX_CAPABILITY_LENGTH = 64;

/** A remote error's message, code and stack. */
export const MAX_ERROR_MESSAGE_LENGTH = 16 * 1024;
export const MAX_ERROR_CODE_LENGTH = 64;
export const MAX_ERROR_STACK_LENGTH = 64 * 1024;
/** Causes below a remote error: a chain any deeper is refused, and never built or sent. */
export const MAX_CAUSE_DEPTH = 4;

/** Large typed arrays sent beside one frame. */
export const MAX_ATTACHMENTS = 4096;

/** How much of a peer's value a BAD_FRAME message quotes. */
export const MAX_QUOTED_LENGTH = 64;
