/**
 * Checks a page in Chromium the way a careful reviewer would: axe-core (the npm package, run in
 * the page) for accessibility, and the layout of its controls (none wider than the screen, none
 * outside the box it belongs to, none over another).
 */
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import type { Page } from 'playwright-core';

const axeSource = readFileSync(
  createRequire(import.meta.url).resolve('axe-core/axe.min.js'),
  'utf8',
);

interface AxeWindow {
  axe?: {
    run(
      context: Document,
      options: { resultTypes: string[] },
    ): Promise<{
      violations: {
        id: string;
        impact: string | null;
        help: string;
        nodes: { target: unknown[]; failureSummary?: string }[];
      }[];
    }>;
  };
}

/** axe-core's violations in the page as it is now, one line each (none: an empty list). */
export async function axeViolations(page: Page): Promise<string[]> {
  if (!(await page.evaluate(() => (window as AxeWindow).axe !== undefined))) {
    await page.addScriptTag({ content: axeSource });
  }
  return page.evaluate(async () => {
    const axe = (window as AxeWindow).axe;
    if (axe === undefined) throw new Error('axe-core did not load');
    const { violations } = await axe.run(document, { resultTypes: ['violations'] });
    return violations.flatMap((violation) =>
      violation.nodes.map(
        (node) =>
          `${violation.id} (${violation.impact ?? 'unknown'}): ${violation.help}: ` +
          `${JSON.stringify(node.target)} ${node.failureSummary ?? ''}`.trim(),
      ),
    );
  });
}

/**
 * What is wrong with the layout of the page's controls (buttons, links styled as buttons,
 * inputs, selects, text areas, summaries, video players), one line each:
 * - the page is wider than the window (a sideways scroll);
 * - a control reaches outside the box that lays it out (its field, its card's actions, its
 *   panel…), or its own text overflows it;
 * - two controls overlap.
 */
export async function layoutProblems(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const problems: string[] = [];
    const name = (element: Element): string => {
      const label =
        element.getAttribute('aria-label') ??
        (element instanceof HTMLInputElement ? element.name : null) ??
        element.textContent.replace(/\s+/g, ' ').trim().slice(0, 40);
      const className = typeof element.className === 'string' ? element.className : '';
      return `${element.tagName.toLowerCase()}${className === '' ? '' : `.${className.split(' ').join('.')}`} “${label}”`;
    };
    const shown = (element: Element): boolean => {
      const box = element.getBoundingClientRect();
      if (box.width === 0 || box.height === 0) return false;
      const style = getComputedStyle(element);
      return style.visibility !== 'hidden' && element.closest('.visually-hidden') === null;
    };
    const width = document.documentElement.clientWidth;
    if (document.documentElement.scrollWidth > width) {
      problems.push(
        `the page is ${document.documentElement.scrollWidth} px wide in a ${width} px window`,
      );
    }
    const controls = [
      ...document.querySelectorAll(
        'button, a.button, input, select, textarea, summary, video[controls]',
      ),
    ].filter(shown);
    const CONTAINERS =
      '.field, .field-checkbox, .job-actions, .actions, .history-search, .pager, ' +
      '.first-frame-preview, .job-media, .job, .panel, form, fieldset, header, main';
    const slack = 1;
    for (const control of controls) {
      const box = control.getBoundingClientRect();
      const container = control.parentElement?.closest(CONTAINERS);
      if (container != null) {
        const outer = container.getBoundingClientRect();
        if (
          box.left < outer.left - slack ||
          box.right > outer.right + slack ||
          box.top < outer.top - slack ||
          box.bottom > outer.bottom + slack
        ) {
          problems.push(`${name(control)} reaches outside ${name(container)}`);
        }
      }
      if (
        (control instanceof HTMLButtonElement || control.classList.contains('button')) &&
        control.scrollWidth > control.clientWidth + slack
      ) {
        problems.push(`${name(control)}: its text is wider than it`);
      }
    }
    for (let i = 0; i < controls.length; i += 1) {
      for (let j = i + 1; j < controls.length; j += 1) {
        const a = controls[i];
        const b = controls[j];
        if (a === undefined || b === undefined || a.contains(b) || b.contains(a)) continue;
        const boxA = a.getBoundingClientRect();
        const boxB = b.getBoundingClientRect();
        const across = Math.min(boxA.right, boxB.right) - Math.max(boxA.left, boxB.left);
        const down = Math.min(boxA.bottom, boxB.bottom) - Math.max(boxA.top, boxB.top);
        if (across > slack && down > slack) {
          problems.push(`${name(a)} overlaps ${name(b)}`);
        }
      }
    }
    return problems;
  });
}

/** Lets the page lay itself out after a change of size: two animation frames. */
export async function settled(page: Page): Promise<void> {
  await page.evaluate(
    () =>
      new Promise<void>((resolve) => {
        requestAnimationFrame(() => {
          requestAnimationFrame(() => {
            resolve();
          });
        });
      }),
  );
}
