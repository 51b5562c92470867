/**
 * "First frame (optional)": picks an image, shows it, and uploads it at once (so a refused
 * image is said before Generate), handing the upload's id to the form.
 */
import { useContext, useEffect, useId, useRef, useState } from 'react';
import { formatBytes, uploadImage, type Upload } from '../api/uploads.ts';
import { ApiKeyContext } from './ApiKeyPrompt.tsx';

export interface FirstFramePickerProps {
  /** The largest image Zeus accepts (`system.maxUploadBytes`); unknown while loading. */
  readonly maxBytes: number | undefined;
  readonly onChange: (upload: Upload | null) => void;
}

type State =
  | { readonly kind: 'empty' }
  | { readonly kind: 'uploading'; readonly url: string; readonly name: string }
  | { readonly kind: 'ready'; readonly url: string; readonly name: string; readonly upload: Upload }
  | { readonly kind: 'failed'; readonly message: string };

export function FirstFramePicker({ maxBytes, onChange }: FirstFramePickerProps) {
  const id = useId();
  const keys = useContext(ApiKeyContext);
  const input = useRef<HTMLInputElement>(null);
  const [state, setState] = useState<State>({ kind: 'empty' });
  const url = state.kind === 'uploading' || state.kind === 'ready' ? state.url : null;
  useEffect(
    () => () => {
      if (url !== null) URL.revokeObjectURL(url);
    },
    [url],
  );

  const limit =
    maxBytes === undefined
      ? 'PNG, JPEG or WebP'
      : `PNG, JPEG or WebP, up to ${formatBytes(maxBytes)}`;
  const hint = `${limit}. The video starts from it: it is cropped to the video’s shape and scaled to its size.`;

  const choose = async (file: File | undefined): Promise<void> => {
    onChange(null);
    if (file === undefined) {
      setState({ kind: 'empty' });
      return;
    }
    if (maxBytes !== undefined && file.size > maxBytes) {
      setState({
        kind: 'failed',
        message: `${file.name} is ${formatBytes(file.size)}; the limit is ${formatBytes(maxBytes)}.`,
      });
      return;
    }
    const preview = URL.createObjectURL(file);
    setState({ kind: 'uploading', url: preview, name: file.name });
    const result = await uploadImage(file, keys?.key ?? null);
    if (!result.ok) {
      if (result.code === 'UNAUTHENTICATED') keys?.refusedByServer();
      setState({ kind: 'failed', message: result.message });
      return;
    }
    setState({ kind: 'ready', url: preview, name: file.name, upload: result.upload });
    onChange(result.upload);
  };

  const clear = (): void => {
    if (input.current !== null) input.current.value = '';
    setState({ kind: 'empty' });
    onChange(null);
  };

  return (
    <div className={`field first-frame${state.kind === 'failed' ? ' field-invalid' : ''}`}>
      <label htmlFor={`${id}-file`}>First frame (optional)</label>
      <input
        ref={input}
        id={`${id}-file`}
        type="file"
        accept="image/png,image/jpeg,image/webp"
        aria-describedby={`${id}-hint${state.kind === 'failed' ? ` ${id}-error` : ''}`}
        aria-invalid={state.kind === 'failed' ? true : undefined}
        onChange={(event) => void choose(event.target.files?.[0])}
      />
      <p className="hint" id={`${id}-hint`}>
        {hint}
      </p>
      {(state.kind === 'uploading' || state.kind === 'ready') && (
        <div className="first-frame-preview">
          <img src={state.url} alt={`First frame: ${state.name}`} />
          <p className="hint" aria-live="polite">
            {state.kind === 'uploading'
              ? 'Uploading…'
              : `${state.upload.width}×${state.upload.height} ${state.upload.type.toUpperCase()}, ready.`}{' '}
            <button type="button" onClick={clear}>
              Remove
            </button>
          </p>
        </div>
      )}
      {state.kind === 'failed' && (
        <p className="error" id={`${id}-error`} role="alert">
          {state.message}
        </p>
      )}
    </div>
  );
}
