// jest 29 runs tests in a fresh VM context where Node's Symbol.dispose (used by `using`) is
// missing; give the context its own so `using` works in tests as it does in Node.
const symbols = Symbol as unknown as { dispose?: symbol; asyncDispose?: symbol };
symbols.dispose ??= Symbol('Symbol.dispose');
symbols.asyncDispose ??= Symbol('Symbol.asyncDispose');

// Native tests reach internals through the test addon (lib/native/load.ts testing()); child
// processes inherit the choice.
process.env.AUTORESEARCH_TEST_ADDON ??= '1';
