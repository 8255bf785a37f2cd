/** Plain text made of lines, for any surface: a chat renderer escapes and formats it, the CLI prints it. */
export interface TextBlock {
  title: string | null;
  lines: string[];
}
