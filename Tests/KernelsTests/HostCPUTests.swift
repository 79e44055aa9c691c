import Kernels
import XCTest

/// What reports name the CPU by: read from /proc/cpuinfo's first processor, x86 and aarch64.
final class HostCPUTests: XCTestCase {
    func testReadsTheFirstProcessorOfAnX86Cpuinfo() {
        let text = """
        processor\t: 0
        vendor_id\t: AuthenticAMD
        cpu family\t: 25
        model\t\t: 1
        model name\t: AMD EPYC 7B13
        flags\t\t: fpu sse2 avx fma avx2 bmi2

        processor\t: 1
        model name\t: something else
        flags\t\t: avx512f

        """
        let cpu = HostCPU(cpuinfo: text)
        XCTAssertEqual(cpu.modelName, "AMD EPYC 7B13")
        XCTAssertEqual(cpu.family, 25)
        XCTAssertEqual(cpu.model, 1)
        XCTAssertEqual(cpu.flags, ["avx2", "fma"])
        XCTAssertTrue(cpu.description.hasPrefix("AMD EPYC 7B13 (family 25, model 1; avx2 fma), "), cpu.description)
    }

    func testReadsAnAarch64CpuinfoAndAnEmptyOne() {
        let arm = HostCPU(cpuinfo: "processor\t: 0\nFeatures\t: fp asimd evtstrm sve\nCPU part\t: 0xd40\n\n")
        XCTAssertEqual(arm.modelName, "CPU part 0xd40")
        XCTAssertEqual(arm.flags, ["asimd", "sve"])
        XCTAssertNil(arm.family)
        let none = HostCPU(cpuinfo: "")
        XCTAssertEqual(none.modelName, "unknown CPU")
        XCTAssertEqual(none.flags, [])
    }

    func testThisMachine() throws {
        guard FileManager.default.fileExists(atPath: "/proc/cpuinfo") else { throw XCTSkip("no /proc/cpuinfo here") }
        let cpu = HostCPU.current
        XCTAssertNotEqual(cpu.modelName, "unknown CPU")
        #if arch(x86_64)
        XCTAssertNotNil(cpu.family)
        #endif
        print("host CPU: \(cpu.description)")
    }
}
