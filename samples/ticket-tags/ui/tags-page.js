//! The tag list page's (handler-rendered) link to its host: announces `ready` and keeps the frame's height in step.
import { createBridge } from "./alga-page.js";

createBridge();
