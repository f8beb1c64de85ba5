"""SCons build script of the edgekit-baremetal PlatformIO platform: bare-metal Cortex-M
firmware with the arm-none-eabi toolchain package and newlib nano. Emulated boards
(build.qemu_machine set) link semihosting (printf and files go to the host); real boards,
and a real SoC in QEMU (build.soc set too: netduinoplus2), link newlib's stubs (libnosys)
and print through their UART (edgekit/firmware/baremetal).
F_CPU is the board's clock (edgekit board file clock_hz): the board support code derives
its PLL and baud-rate settings from it. Targets: the ELF (default), `size`, `exec` (run
in qemu-system-arm; the firmware's exit code is the command's; emulated boards only; a
real SoC's firmware talks over QEMU's second serial port, USART2 on netduinoplus2, on
stdio, and runs until stopped)."""
import os

from SCons.Script import AlwaysBuild, Default, DefaultEnvironment

env = DefaultEnvironment()
platform = env.PioPlatform()
board = env.BoardConfig()
qemu_machine = board.get("build.qemu_machine", "")
semihosting = qemu_machine and not board.get("build.soc", "")

env.PrependENVPath("PATH", os.path.join(platform.get_package_dir("toolchain-gccarmnoneeabi"), "bin"))
env.Replace(
    AR="arm-none-eabi-ar", AS="arm-none-eabi-as", CC="arm-none-eabi-gcc", CXX="arm-none-eabi-g++",
    OBJCOPY="arm-none-eabi-objcopy", RANLIB="arm-none-eabi-ranlib", SIZETOOL="arm-none-eabi-size",
    ARFLAGS=["rc"], PROGNAME="firmware", PROGSUFFIX=".elf",
    SIZEPROGREGEXP=r"^(?:\.boot2|\.isr_vector|\.text|\.ARM\.exidx|\.data)\s+(\d+).*",
    SIZEDATAREGEXP=r"^(?:\.data|\.bss)\s+(\d+).*",
    SIZECHECKCMD="$SIZETOOL -A -d $SOURCES", SIZEPRINTCMD="$SIZETOOL -B -d $SOURCES",
)
machine = ["-mthumb", "-mcpu=%s" % board.get("build.cpu")] + board.get("build.float_flags", "").split()
if "-mfloat-abi=hard" not in machine:
    machine.append("-mfloat-abi=soft")
libc = "--specs=rdimon.specs" if semihosting else "--specs=nosys.specs"
env.Append(
    ASFLAGS=machine,
    CCFLAGS=machine + ["-O2", "-ffunction-sections", "-fdata-sections", "-Wall", "-Wextra"],
    CFLAGS=["-std=c99"],
    CPPDEFINES=[("F_CPU", board.get("build.f_cpu"))],
    LINKFLAGS=machine + ["--specs=nano.specs", libc, "-nostartfiles", "-Wl,--gc-sections"],
    LIBS=["m"],
)

elf = env.BuildProgram()
size = env.Alias("size", elf, env.VerboseAction("$SIZEPRINTCMD", "Calculating size $SOURCE"))
AlwaysBuild(size)
if qemu_machine:
    io = ("-nographic -monitor none -serial none -semihosting-config enable=on,target=native" if semihosting
          else "-display none -monitor none -serial null -serial stdio")
    qemu = env.Alias("exec", elf, env.VerboseAction(
        "qemu-system-arm -M %s %s -kernel $SOURCE" % (qemu_machine, io), "Running $SOURCE in QEMU"))
    AlwaysBuild(qemu)
Default([elf, size])
