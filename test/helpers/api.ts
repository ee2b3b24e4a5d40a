// The package as its users import it (the built root export and its subpaths), in one namespace
// for the tests, with the loader that tests inspect directly.
export * from "../../dist/index.js";
export * from "../../dist/vectors/index.js";
export * from "../../dist/eval/index.js";
export { getBinding, unpackedPath } from "../../dist/binding.js";
