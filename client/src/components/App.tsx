/** The page: the service's state, the prompt form, and the videos. */
import { useQuery } from '@apollo/client/react';
import { useCallback, useRef, useState } from 'react';
import { useSubmitBatch, useSubmitPrompt } from '../api/hooks.ts';
import { MODEL_RULES_QUERY, SYSTEM_QUERY, type Job, type PromptInput } from '../api/operations.ts';
import { readiness } from '../jobs/readiness.ts';
import { defaultValues, valuesFromSettings, type FormValues } from '../jobs/settings-form.ts';
import { useAnnounce } from './Announcer.tsx';
import { ApiKeyPrompt } from './ApiKeyPrompt.tsx';
import { ConnectionBanner } from './ConnectionBanner.tsx';
import { JobHistory } from './JobHistory.tsx';
import { PromptForm } from './PromptForm.tsx';
import { SystemStatusLine } from './SystemStatusLine.tsx';
import { WorkersPanel } from './WorkersPanel.tsx';

/** How often the service's state is asked for: often while waiting for the model, then rarely. */
const SYSTEM_POLL_WAITING_MS = 2_000;
const SYSTEM_POLL_READY_MS = 5_000;

export function App() {
  const rules = useQuery(MODEL_RULES_QUERY);
  const [systemPollMs, setSystemPollMs] = useState(SYSTEM_POLL_WAITING_MS);
  const system = useQuery(SYSTEM_QUERY, { pollInterval: systemPollMs });
  const ready = readiness(system.data?.system, system.error);
  const wantedPollMs = ready.ready ? SYSTEM_POLL_READY_MS : SYSTEM_POLL_WAITING_MS;
  if (wantedPollMs !== systemPollMs) setSystemPollMs(wantedPollMs);

  const [edited, setEdited] = useState<FormValues | null>(null);
  const modelRules = rules.data?.modelRules;
  const values = edited ?? (modelRules === undefined ? null : defaultValues(modelRules));
  const promptRef = useRef<HTMLTextAreaElement>(null);
  const [actionError, setActionError] = useState<string | null>(null);

  const submitPrompt = useSubmitPrompt();
  const submitBatch = useSubmitBatch();
  const announce = useAnnounce();
  const submit = useCallback(
    async (input: PromptInput, count = 1) => {
      // Several videos of one prompt: a batch, each with its own random seed.
      const result =
        count > 1 ? await submitBatch({ settings: input, count }) : await submitPrompt(input);
      if (result.ok) {
        announce(count > 1 ? `Queued ${count} videos: ${input.prompt}` : `Queued: ${input.prompt}`);
      }
      return result;
    },
    [submitPrompt, submitBatch, announce],
  );

  const runAgain = useCallback(
    (job: Job) => {
      const { prompt, negativePrompt, width, height, numFrames, frameRate } = job.settings;
      setActionError(null);
      void submit({ prompt, negativePrompt, width, height, numFrames, frameRate }).then(
        (result) => {
          if (!result.ok) setActionError(`Could not run “${prompt}” again: ${result.message}`);
        },
      );
    },
    [submit],
  );

  const edit = useCallback((job: Job) => {
    setEdited(valuesFromSettings(job.settings));
    const prompt = promptRef.current;
    if (prompt !== null) {
      prompt.focus();
      prompt.scrollIntoView({ block: 'center' });
    }
  }, []);

  return (
    <>
      <a className="skip-link" href="#videos">
        Skip to videos
      </a>
      <header className="app-header">
        <div className="brand">
          <h1>Zeus</h1>
          <p className="tagline">Text to video, on your own machine</p>
        </div>
        <nav aria-label="Tools">
          <a href="/graphql">GraphQL playground</a>
        </nav>
        <SystemStatusLine system={system.data?.system} />
      </header>
      <ConnectionBanner />
      <main>
        <ApiKeyPrompt />
        <section className="panel" aria-labelledby="new-video-title">
          <h2 id="new-video-title">New video</h2>
          {modelRules !== undefined && values !== null ? (
            <PromptForm
              rules={modelRules}
              values={values}
              onChange={setEdited}
              readiness={ready}
              onSubmit={submit}
              promptRef={promptRef}
              maxUploadBytes={system.data?.system.maxUploadBytes}
              maxBatch={system.data?.system.maxBatch}
            />
          ) : rules.error === undefined ? (
            <p className="muted">Loading the model’s settings…</p>
          ) : (
            <p className="banner banner-error" role="alert">
              Could not load the model’s settings: {rules.error.message}
            </p>
          )}
        </section>
        <section id="videos" className="panel" aria-labelledby="videos-title" tabIndex={-1}>
          <h2 id="videos-title">Videos</h2>
          {actionError !== null && (
            <p className="banner banner-error" role="alert">
              {actionError}
            </p>
          )}
          <JobHistory onRunAgain={runAgain} onEdit={edit} />
        </section>
        <WorkersPanel />
      </main>
    </>
  );
}
