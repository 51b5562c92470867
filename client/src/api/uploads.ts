/**
 * First-frame images: `POST /uploads` with the file's bytes as the body (see
 * docs/api/image-to-video.md). The answer's id goes into `PromptInput.imageId`.
 */

export interface Upload {
  readonly id: string;
  readonly type: string;
  readonly width: number;
  readonly height: number;
  readonly bytes: number;
  readonly expiresAt: string;
}

export type UploadResult =
  | { readonly ok: true; readonly upload: Upload }
  | { readonly ok: false; readonly message: string; readonly code: string | null };

/** Content types the endpoint takes; anything else is sent as bytes for Zeus to judge. */
const IMAGE_TYPES = new Set(['image/png', 'image/jpeg', 'image/webp']);

export async function uploadImage(
  file: Blob,
  apiKey: string | null,
  fetchImpl: typeof fetch = fetch,
): Promise<UploadResult> {
  try {
    const response = await fetchImpl('/uploads', {
      method: 'POST',
      headers: {
        'content-type': IMAGE_TYPES.has(file.type) ? file.type : 'application/octet-stream',
        ...(apiKey === null ? {} : { authorization: `Bearer ${apiKey}` }),
      },
      body: file,
    });
    const body = (await response.json().catch(() => null)) as
      | (Upload & { errors?: undefined })
      | { errors?: { message?: string; extensions?: { code?: string } }[] }
      | null;
    if (response.ok && body !== null && 'id' in body) return { ok: true, upload: body };
    const error = body?.errors?.[0];
    return {
      ok: false,
      message: error?.message ?? `Zeus answered ${response.status}.`,
      code: error?.extensions?.code ?? null,
    };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { ok: false, message: `Could not reach Zeus: ${message}`, code: null };
  }
}

/** "10 MiB", "512 KiB": a byte limit in words. */
export function formatBytes(bytes: number): string {
  if (bytes >= 1_048_576) return `${Math.round((bytes / 1_048_576) * 10) / 10} MiB`;
  if (bytes >= 1_024) return `${Math.round(bytes / 1_024)} KiB`;
  return `${bytes} bytes`;
}
