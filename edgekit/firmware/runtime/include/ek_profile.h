/* Layer markers for instruction counting: a profiling build compiles generated code with
 * -DEK_LAYER_BEGIN(i)=ek_layer_mark(i); the QEMU plugin records the instruction count
 * each time ek_layer_mark() is entered. A few instructions per call (call, return). */
#ifndef EK_PROFILE_H
#define EK_PROFILE_H
void ek_layer_mark(int layer);
#endif
