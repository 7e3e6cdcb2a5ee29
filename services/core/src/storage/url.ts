import { ForbiddenError, InvalidJobError, UnsafeJobError } from '../errors.ts';
import type { WebhookPolicy } from '../webhooks/webhook.ts';

/**
 * Storage locations a job may name. Every URL comes from a caller, so parsing is strict:
 * an object key (or file path) is a list of plain segments, never `.`/`..`, never empty,
 * never absolute, with no control characters. A URL ending in `/` is a folder.
 */
export type StorageUrl =
  | { scheme: 's3'; bucket: string; key: string; folder: boolean }
  | { scheme: 'file'; path: string; folder: boolean };

export interface UrlPolicy {
  /** Buckets jobs may read and write; empty means any bucket. */
  allowedBuckets?: readonly string[];
  /**
   * The only places the caller may read and write (`s3://bucket/prefix/`, each ending in `/`):
   * set for a token scoped to prefixes, whose other URLs (and every file:// URL) are a 403.
   */
  allowedPrefixes?: readonly string[];
  /** Whether `file://` URLs are accepted (only when a file root is configured). */
  allowFile?: boolean;
  /** Which webhook URLs jobs may name (see webhooks/webhook.ts). */
  webhooks?: WebhookPolicy;
}

const MAX_URL_LENGTH = 2048;
const MAX_KEY_BYTES = 1024;
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
// C0/C1 controls, DEL, backslash, and Unicode line/paragraph separators: never in a key.
const FORBIDDEN_KEY_CHARS = /[\u0000-\u001f\u007f-\u009f\\\u2028\u2029]/;
// Invisible format characters (zero-width, bidi overrides, BOM): a key must read as it is.
const FORMAT_CHARS = /\p{Cf}/u;
// Slash and dot look-alikes that NFKC normalization does not fold, but a person (or a tool
// that transliterates) reads as "/" or ".".
const SLASH_OR_DOT_LOOKALIKES: Record<string, string> = {
  '\u2215': '/', // division slash
  '\u2044': '/', // fraction slash
  '\u29f8': '/', // big solidus
  '\u2216': '\\', // set minus
  '\u29f9': '\\', // big reverse solidus
  '\ufe68': '\\', // small reverse solidus
  '\u00b7': '.', // middle dot
  '\u2219': '.', // bullet operator
};
// Every look-alike above is outside ASCII, and NFKC leaves ASCII as it is.
const NON_ASCII = /[^\u0000-\u007f]/;
// An empty, `.` or `..` segment.
const ODD_SEGMENT = /(?:^|\/)\.{0,2}(?:\/|$)/;

export function parseStorageUrl(raw: string, policy: UrlPolicy = {}): StorageUrl {
  if (typeof raw !== 'string' || raw.length === 0) throw new InvalidJobError('URL is empty');
  if (raw.length > MAX_URL_LENGTH) {
    throw new InvalidJobError(`URL is longer than ${MAX_URL_LENGTH} characters`, { url: raw.slice(0, 80) });
  }
  const scheme = /^([a-z0-9+.-]+):\/\//i.exec(raw)?.[1]?.toLowerCase();
  if (scheme === 's3') return parseS3(raw, policy);
  if (scheme === 'file') {
    if (policy.allowedPrefixes) {
      throw new ForbiddenError('this token may only use URLs under its prefixes, not file:// URLs', {
        url: raw,
        allowedPrefixes: policy.allowedPrefixes,
      });
    }
    if (!policy.allowFile) throw new UnsafeJobError('file:// URLs are disabled on this fleet', { url: raw });
    const path = raw.slice('file://'.length).replace(/^\/+/, '');
    return { scheme: 'file', path: checkKey(path, raw), folder: path.endsWith('/') };
  }
  throw new UnsafeJobError(
    `URL scheme "${scheme ?? raw.split(':')[0]}" is not allowed: use s3://bucket/key`,
    {
      url: raw,
    },
  );
}

function parseS3(raw: string, policy: UrlPolicy): StorageUrl {
  const rest = raw.slice('s3://'.length);
  const slash = rest.indexOf('/');
  const bucket = slash === -1 ? rest : rest.slice(0, slash);
  const key = slash === -1 ? '' : rest.slice(slash + 1);
  if (!BUCKET.test(bucket) || bucket.includes('..')) {
    throw new InvalidJobError(`"${bucket}" is not a valid S3 bucket name`, { url: raw });
  }
  if (policy.allowedBuckets && policy.allowedBuckets.length > 0 && !policy.allowedBuckets.includes(bucket)) {
    throw new UnsafeJobError(`bucket "${bucket}" is not in this fleet's allowed buckets`, {
      url: raw,
      allowedBuckets: policy.allowedBuckets,
    });
  }
  if (key === '') throw new InvalidJobError('S3 URL has no object key', { url: raw });
  const url: StorageUrl = { scheme: 's3', bucket, key: checkKey(key, raw), folder: key.endsWith('/') };
  // The key has only plain segments now (no `..`, no look-alikes), so a prefix match is a real containment.
  const prefixes = policy.allowedPrefixes;
  if (prefixes && !prefixes.some((prefix) => `s3://${bucket}/${key}`.startsWith(prefix))) {
    throw new ForbiddenError(`${raw} is outside this token's prefixes`, {
      url: raw,
      allowedPrefixes: prefixes,
    });
  }
  return url;
}

/** Returns the key unchanged when every segment is plain, else throws naming the problem. */
function checkKey(key: string, raw: string): string {
  if (key.length === 0) throw new InvalidJobError('URL has no path', { url: raw });
  // Most keys are plain ASCII: one byte a character, nothing to fold, no format characters.
  const ascii = !NON_ASCII.test(key);
  if ((ascii ? key.length : Buffer.byteLength(key)) > MAX_KEY_BYTES) {
    throw new UnsafeJobError(`object key is longer than ${MAX_KEY_BYTES} bytes`, { url: raw.slice(0, 80) });
  }
  if (!ascii && !key.isWellFormed())
    throw new UnsafeJobError('object key is not valid Unicode', { url: raw });
  if (FORBIDDEN_KEY_CHARS.test(key)) {
    throw new UnsafeJobError('object key contains a control character or backslash', { url: raw });
  }
  if (!ascii && FORMAT_CHARS.test(key)) {
    throw new UnsafeJobError('object key contains an invisible Unicode format character', { url: raw });
  }
  if (key.startsWith('/')) throw new UnsafeJobError('object key must not be absolute', { url: raw });
  const path = key.endsWith('/') ? key.slice(0, -1) : key;
  // Plain ASCII with no empty, `.` or `..` segment is plain: nothing more to look at.
  if (ascii && !ODD_SEGMENT.test(path)) return key;
  for (const segment of path.split('/')) {
    if (segment === '' || segment === '.' || segment === '..') {
      throw new UnsafeJobError(`object key has a "${segment || '//'}" path segment`, { url: raw });
    }
    // A plain ASCII segment reads as it is written: nothing to fold.
    if (ascii || !NON_ASCII.test(segment)) continue;
    const folded = [...segment.normalize('NFKC')].map((c) => SLASH_OR_DOT_LOOKALIKES[c] ?? c).join('');
    if (folded === '.' || folded === '..' || folded.includes('/') || folded.includes('\\')) {
      throw new UnsafeJobError(
        `object key segment "${segment}" reads as "${folded}" (Unicode look-alike of a path separator or "..")`,
        { url: raw },
      );
    }
  }
  return key;
}

export function formatStorageUrl(url: StorageUrl): string {
  return url.scheme === 's3' ? `s3://${url.bucket}/${url.key}` : `file:///${url.path}`;
}

/** The URL of `relativePath` inside a folder URL. */
export function childUrl(folder: StorageUrl, relativePath: string): StorageUrl {
  if (url(folder).endsWith('/') === false) throw new Error('childUrl needs a folder URL');
  return folder.scheme === 's3'
    ? { ...folder, key: folder.key + relativePath, folder: false }
    : { ...folder, path: folder.path + relativePath, folder: false };
}

function url(u: StorageUrl): string {
  return u.scheme === 's3' ? u.key : u.path;
}

/** Last path segment of a URL, used to name the local copy (extension matters to ffmpeg). */
export function baseName(u: StorageUrl): string {
  const p = url(u).replace(/\/$/, '');
  return p.slice(p.lastIndexOf('/') + 1);
}
