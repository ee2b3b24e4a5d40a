// How the wrapped-material prompts are put together: an instruction, a blank line, then the material
// in a fenced block, the way a user pastes code into a chat.

/** The instruction followed by the code in a fenced block tagged with its language. */
export const fenced = (instruction: string, language: string, code: string): string => `${instruction}\n\n\`\`\`${language}\n${code}\n\`\`\``;

/** fenced() for Python, the commonest case. */
export const py = (instruction: string, code: string): string => fenced(instruction, "python", code);

/** Source lines joined into one block, so that long code reads in the file as it will in the prompt. */
export const lines = (...rows: string[]): string => rows.join("\n");
