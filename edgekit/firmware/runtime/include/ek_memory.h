/* Stack and heap high-water marks, where the startup code paints the stack (the
 * bare-metal boards: edgekit/firmware/baremetal/startup.c). Weak: on a build without
 * them (the host) both are NULL, and callers print nothing. */
#ifndef EK_MEMORY_H
#define EK_MEMORY_H
long ek_stack_peak(void) __attribute__((weak));   /* bytes of stack used so far, at most */
long ek_heap_used(void) __attribute__((weak));    /* bytes the heap has taken */
#endif
