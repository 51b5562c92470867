/** The model's rules (the `modelRules` query) for whatever shows settings; null until loaded. */
import { createContext, useContext } from 'react';
import type { ModelRules } from '../api/operations.ts';
import { usesSetting } from '../jobs/settings-form.ts';

export const ModelRulesContext = createContext<ModelRules | null>(null);

/** Whether to show a job's negative prompt: only for a model that uses one. */
export function useShowsNegativePrompt(): boolean {
  const rules = useContext(ModelRulesContext);
  return rules !== null && usesSetting(rules, 'negativePrompt');
}
