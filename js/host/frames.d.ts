//! Types of the Host SDK's frame module (frames.js); hosts normally use alga-host.js instead.

export function errorCard(title: string, error?: { code?: string; message?: string } | null, retry?: () => void): HTMLElement;
