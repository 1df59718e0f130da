/**
 * The few browser shapes the page.evaluate callbacks use. The project's tsconfig has no DOM
 * lib (it is a Node project), so callbacks cast globalThis to this instead; the casts are
 * type-only and vanish from the function text Playwright sends to the page.
 */
export interface PageElement {
  innerText: string;
  dataset: Record<string, string | undefined>;
  getBoundingClientRect(): { left: number; top: number; width: number; height: number };
}

export interface PageCanvas extends PageElement {
  width: number;
  height: number;
  getContext(kind: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: ArrayLike<number> } } | null;
}

export interface PageTerminal {
  cols: number;
  rows: number;
  buffer: { active: { length: number; getLine(i: number): { translateToString(trim: boolean): string } | undefined } };
}

export interface PageGlobals {
  document: {
    body: PageElement;
    getElementById(id: string): PageElement | null;
    querySelector(selector: string): PageElement | null;
  };
  sessionStorage: Record<string, string> & { setItem(key: string, value: string): void };
  /** Set by web/viewer/viewer.js. */
  appstreamSocket?: { close(): void };
  appstreamTerminal?: PageTerminal;
}
