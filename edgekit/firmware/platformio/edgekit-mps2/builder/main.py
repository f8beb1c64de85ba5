"""SCons build script of the edgekit-mps2 PlatformIO platform: bare-metal Cortex-M
firmware for QEMU's MPS2 boards with the arm-none-eabi toolchain package, newlib nano
and semihosting (printf and files go to the host). Targets: the ELF (default), `size`,
`exec` (run in qemu-system-arm; the firmware's exit code is the command's)."""
import os

from SCons.Script import AlwaysBuild, Default, DefaultEnvironment

env = DefaultEnvironment()
platform = env.PioPlatform()
board = env.BoardConfig()

env.PrependENVPath("PATH", os.path.join(platform.get_package_dir("toolchain-gccarmnoneeabi"), "bin"))
env.Replace(
    AR="arm-none-eabi-ar", AS="arm-none-eabi-as", CC="arm-none-eabi-gcc", CXX="arm-none-eabi-g++",
    OBJCOPY="arm-none-eabi-objcopy", RANLIB="arm-none-eabi-ranlib", SIZETOOL="arm-none-eabi-size",
    ARFLAGS=["rc"], PROGNAME="firmware", PROGSUFFIX=".elf",
    SIZEPROGREGEXP=r"^(?:\.isr_vector|\.text|\.ARM\.exidx|\.data)\s+(\d+).*",
    SIZEDATAREGEXP=r"^(?:\.data|\.bss)\s+(\d+).*",
    SIZECHECKCMD="$SIZETOOL -A -d $SOURCES", SIZEPRINTCMD="$SIZETOOL -B -d $SOURCES",
)
machine = ["-mthumb", "-mcpu=%s" % board.get("build.cpu")] + board.get("build.float_flags", "").split()
if "-mfloat-abi=hard" not in machine:
    machine.append("-mfloat-abi=soft")
env.Append(
    ASFLAGS=machine,
    CCFLAGS=machine + ["-O2", "-ffunction-sections", "-fdata-sections", "-Wall", "-Wextra"],
    CFLAGS=["-std=c99"],
    LINKFLAGS=machine + ["--specs=nano.specs", "--specs=rdimon.specs", "-nostartfiles",
                         "-Wl,--gc-sections"],
    LIBS=["m"],
)

elf = env.BuildProgram()
size = env.Alias("size", elf, env.VerboseAction("$SIZEPRINTCMD", "Calculating size $SOURCE"))
qemu = env.Alias("exec", elf, env.VerboseAction(
    "qemu-system-arm -M %s -nographic -monitor none -serial none "
    "-semihosting-config enable=on,target=native -kernel $SOURCE" % board.get("build.qemu_machine"),
    "Running $SOURCE in QEMU"))
AlwaysBuild(size)
AlwaysBuild(qemu)
Default([elf, size])
