// zod's "mini" build with English messages: a tenth of the classic build's size, which every `cos`
// start would otherwise parse. Chat grammars and HTTP bodies may use the same import.
import * as z from "zod/mini";
import en from "zod/v4/locales/en.js";

z.config(en());

export { z };
