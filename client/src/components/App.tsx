/**
 * The app's shell: the service's state in the header, then the page the path names (routes.ts):
 * the list (`/`: the prompt form, the videos, the workers) or one job (`/jobs/<id>`). It holds
 * what both pages share: the model's rules, the form's values (Edit on a job's page fills the
 * form on the list), and submitting.
 */
import { useQuery } from '@apollo/client/react';
import { useCallback, useEffect, useRef, useState } from 'react';
import { useSubmitBatch, useSubmitPrompt } from '../api/hooks.ts';
import { MODEL_RULES_QUERY, SYSTEM_QUERY, type Job, type PromptInput } from '../api/operations.ts';
import { readiness } from '../jobs/readiness.ts';
import {
  defaultValues,
  usesSetting,
  valuesFromSettings,
  type FormValues,
} from '../jobs/settings-form.ts';
import { Link, navigate, usePathname, useRoute } from '../routing/navigation.tsx';
import { jobPath } from '../routing/routes.ts';
import { useAnnounce } from './Announcer.tsx';
import { ApiKeyPrompt } from './ApiKeyPrompt.tsx';
import { ConnectionBanner } from './ConnectionBanner.tsx';
import { JobHistory } from './JobHistory.tsx';
import { JobPage } from './JobPage.tsx';
import { ModelRulesContext } from './model-rules-context.ts';
import { PromptForm } from './PromptForm.tsx';
import { SystemStatusLine } from './SystemStatusLine.tsx';
import { WorkersPanel } from './WorkersPanel.tsx';

/** How often the service's state is asked for: often while waiting for the model, then rarely. */
const SYSTEM_POLL_WAITING_MS = 2_000;
const SYSTEM_POLL_READY_MS = 5_000;

const TITLE = 'Zeus · text to video';

export function App() {
  const route = useRoute();
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
  /** Bumped by Edit: the prompt takes the focus once the list is on screen. */
  const [focusPrompt, setFocusPrompt] = useState(0);
  /** What went wrong with Run again, on the page it was pressed on (the path). */
  const [failedAction, setFailedAction] = useState<{ path: string; message: string } | null>(null);
  const path = usePathname();
  const actionError = failedAction?.path === path ? failedAction.message : null;

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

  /** The same prompt and settings, a new seed; `then` gets the new job. */
  const runAgain = useCallback(
    (job: Job, then?: (job: Job) => void) => {
      const { prompt, negativePrompt, width, height, numFrames, frameRate } = job.settings;
      // A setting the model ignores is left to its default, as the form leaves it.
      const negative =
        modelRules === undefined || usesSetting(modelRules, 'negativePrompt')
          ? { negativePrompt }
          : {};
      const from = window.location.pathname;
      setFailedAction(null);
      void submit({ prompt, ...negative, width, height, numFrames, frameRate }).then((result) => {
        if (result.ok) then?.(result.job);
        else {
          setFailedAction({
            path: from,
            message: `Could not run “${prompt}” again: ${result.message}`,
          });
        }
      });
    },
    [submit, modelRules],
  );

  const edit = useCallback((job: Job) => {
    setEdited(valuesFromSettings(job.settings));
    navigate('/');
    setFocusPrompt((count) => count + 1);
  }, []);

  useEffect(() => {
    if (focusPrompt === 0 || route.page !== 'home') return;
    const prompt = promptRef.current;
    if (prompt !== null) {
      prompt.focus();
      prompt.scrollIntoView({ block: 'center' });
    }
  }, [focusPrompt, route.page]);

  useEffect(() => {
    if (route.page !== 'job') document.title = TITLE;
  }, [route.page]);

  return (
    <ModelRulesContext.Provider value={modelRules ?? null}>
      <a className="skip-link" href={route.page === 'home' ? '#videos' : '#main'}>
        {route.page === 'home' ? 'Skip to videos' : 'Skip to content'}
      </a>
      <header className="app-header">
        <div className="brand">
          <h1>
            <Link to="/" className="brand-link">
              Zeus
            </Link>
          </h1>
          <p className="tagline">Text to video, on your own machine</p>
        </div>
        <nav aria-label="Tools">
          <a href="/graphql">GraphQL playground</a>
        </nav>
        <SystemStatusLine system={system.data?.system} />
      </header>
      <ConnectionBanner />
      {route.page === 'home' ? (
        <main id="main">
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
      ) : (
        <main id="main" className="main-single" tabIndex={-1}>
          <ApiKeyPrompt />
          {route.page === 'job' ? (
            <JobPage
              id={route.id}
              retentionSeconds={system.data?.system.retentionSeconds ?? null}
              onRunAgain={(job) => {
                runAgain(job, (created) => {
                  navigate(jobPath(created.id));
                });
              }}
              onEdit={edit}
              actionError={actionError}
            />
          ) : (
            <section className="panel" aria-labelledby="not-found-title">
              <h2 id="not-found-title">No such page</h2>
              <p>
                Zeus has no page at <code>{route.path}</code>. <Link to="/">See all videos</Link>.
              </p>
            </section>
          )}
        </main>
      )}
    </ModelRulesContext.Provider>
  );
}
