//! Types of the Page SDK's React hooks (react.js); React is a peer dependency.
import type { CreateBridgeOptions, IframeBridge, ThemeTokens } from "./alga-page.js";

export function useBridge(options?: CreateBridgeOptions): IframeBridge;
export function useTheme(bridge?: IframeBridge): ThemeTokens | null;
export function useResize(bridge?: IframeBridge): (height: number) => void;
