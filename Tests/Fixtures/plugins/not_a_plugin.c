/* A shared library that is not a plugin: it has no synth_plugin_entry. */
int add(int a, int b) { return a + b; }
