import type { BuildOptions } from "esbuild";

export declare const BUNDLE_OPTIONS: BuildOptions;
export declare function ensureBuild(entry: string): Promise<string>;
