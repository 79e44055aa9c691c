import Foundation

/// What a PyTorch state dict's pickle can hold, as data: the restricted unpickler builds these
/// values and never calls anything. A pickle is a program for Python's stack machine, and
/// `GLOBAL` + `REDUCE` can call any function (`os.system` included); here only the few globals
/// a state dict needs are known, and "calling" one builds a value.
indirect enum PickleValue {
    case none
    case bool(Bool)
    case int(Int)
    case float(Double)
    case string(String)
    case bytes([UInt8])
    case tuple([PickleValue])
    case list([PickleValue])
    case dict([(key: PickleValue, value: PickleValue)])
    /// A global the unpickler allows: `collections.OrderedDict`, `torch._utils._rebuild_tensor_v2`,
    /// `torch._utils._rebuild_parameter`, `torch.*Storage`.
    case global(module: String, name: String)
    /// `persistent_load(('storage', torch.FloatStorage, key, location, numel))`.
    case storage(TorchStorage)
    case tensor(TorchTensor)
    /// The stack marker of `MARK`.
    case mark
}

/// One storage of the checkpoint: the file `data/<key>` of the zip, of `count` elements.
struct TorchStorage {
    var dtype: SafetensorsDType
    var key: String
    var count: Int
}

/// A tensor as `_rebuild_tensor_v2` describes it: a view of a storage.
struct TorchTensor {
    var storage: TorchStorage
    var offset: Int
    var shape: [Int]
    var stride: [Int]
}

/// Python's unpickler for protocols 2–5, cut down to the opcodes and globals `torch.save` of a
/// state dict writes. Anything else (another global, an opcode of code or of classes) is an
/// error naming it; nothing in the file is ever executed.
struct RestrictedUnpickler {
    let bytes: [UInt8]
    let path: String
    private var position = 0
    private var stack: [PickleValue] = []
    private var memo: [Int: PickleValue] = [:]

    init(bytes: [UInt8], path: String) {
        self.bytes = bytes
        self.path = path
    }

    static let storageTypes: [String: SafetensorsDType] = [
        "FloatStorage": .F32, "HalfStorage": .F16, "BFloat16Storage": .BF16, "DoubleStorage": .F64,
        "LongStorage": .I64, "IntStorage": .I32, "ShortStorage": .I16, "CharStorage": .I8, "ByteStorage": .U8,
        "BoolStorage": .BOOL,
    ]

    private func fail(_ reason: String) -> BertError {
        .unreadableFile(path: path, reason: "\(reason) (at byte \(position) of the pickle)")
    }

    mutating func load() throws -> PickleValue {
        while true {
            let op = try byte()
            switch op {
            case 0x80: _ = try byte()                                  // PROTO
            case 0x95: _ = try take(8)                                 // FRAME
            case 0x2E:                                                 // STOP
                guard let top = stack.popLast() else { throw fail("the pickle ends with an empty stack") }
                return top
            case 0x28: stack.append(.mark)                             // MARK
            case 0x4E: stack.append(.none)                             // NONE
            case 0x88: stack.append(.bool(true))                       // NEWTRUE
            case 0x89: stack.append(.bool(false))                      // NEWFALSE
            case 0x4B: stack.append(.int(Int(try byte())))             // BININT1
            case 0x4D: stack.append(.int(Int(try littleEndian(2))))    // BININT2
            case 0x4A: stack.append(.int(Int(Int32(truncatingIfNeeded: try littleEndian(4)))))  // BININT
            case 0x8A:                                                 // LONG1
                let n = Int(try byte())
                guard n <= 8 else { throw fail("an integer of \(n) bytes") }
                let raw = try take(n)
                var v: UInt64 = 0
                for (k, b) in raw.enumerated() { v |= UInt64(b) << (8 * UInt64(k)) }
                if n > 0, n < 8, raw[n - 1] & 0x80 != 0 { v |= ~0 << (8 * UInt64(n)) }  // sign-extend
                stack.append(.int(Int(Int64(bitPattern: v))))
            case 0x47:                                                 // BINFLOAT (big-endian)
                var v: UInt64 = 0
                for b in try take(8) { v = v << 8 | UInt64(b) }
                stack.append(.float(Double(bitPattern: v)))
            case 0x58: stack.append(.string(try text(Int(try littleEndian(4)))))   // BINUNICODE
            case 0x8C: stack.append(.string(try text(Int(try byte()))))            // SHORT_BINUNICODE
            case 0x8D: stack.append(.string(try text(Int(clamping: try littleEndian(8)))))   // BINUNICODE8
            case 0x43: stack.append(.bytes(try take(Int(try byte()))))             // SHORT_BINBYTES
            case 0x42: stack.append(.bytes(try take(Int(try littleEndian(4)))))    // BINBYTES
            case 0x29: stack.append(.tuple([]))                        // EMPTY_TUPLE
            case 0x5D: stack.append(.list([]))                         // EMPTY_LIST
            case 0x7D: stack.append(.dict([]))                         // EMPTY_DICT
            case 0x74: stack.append(.tuple(try popToMark()))           // TUPLE
            case 0x85, 0x86, 0x87:                                     // TUPLE1, TUPLE2, TUPLE3
                let n = Int(op - 0x84)
                guard stack.count >= n else { throw fail("a tuple of \(n) needs \(n) values") }
                let items = Array(stack.suffix(n))
                stack.removeLast(n)
                stack.append(.tuple(items))
            case 0x61:                                                 // APPEND
                let item = try pop()
                guard case .list(var items) = try pop() else { throw fail("APPEND to something not a list") }
                items.append(item)
                stack.append(.list(items))
            case 0x65:                                                 // APPENDS
                let items = try popToMark()
                guard case .list(var list) = try pop() else { throw fail("APPENDS to something not a list") }
                list += items
                stack.append(.list(list))
            case 0x73:                                                 // SETITEM
                let value = try pop(), key = try pop()
                guard case .dict(var pairs) = try pop() else { throw fail("SETITEM on something not a dict") }
                pairs.append((key, value))
                stack.append(.dict(pairs))
            case 0x75:                                                 // SETITEMS
                let items = try popToMark()
                guard items.count % 2 == 0, case .dict(var pairs) = try pop() else { throw fail("SETITEMS on something not a dict") }
                for k in stride(from: 0, to: items.count, by: 2) { pairs.append((items[k], items[k + 1])) }
                stack.append(.dict(pairs))
            case 0x71: memo[Int(try byte())] = try top()               // BINPUT
            case 0x72: memo[Int(try littleEndian(4))] = try top()      // LONG_BINPUT
            case 0x94: memo[memo.count] = try top()                    // MEMOIZE
            case 0x68, 0x6A:                                           // BINGET, LONG_BINGET
                let key = op == 0x68 ? Int(try byte()) : Int(try littleEndian(4))
                guard let v = memo[key] else { throw fail("BINGET of memo \(key), which was never put") }
                stack.append(v)
            case 0x63:                                                 // GLOBAL "module\nname\n"
                let module = try line(), name = try line()
                stack.append(try global(module, name))
            case 0x93:                                                 // STACK_GLOBAL
                guard case .string(let name) = try pop(), case .string(let module) = try pop() else {
                    throw fail("STACK_GLOBAL without two strings")
                }
                stack.append(try global(module, name))
            case 0x51:                                                 // BINPERSID
                stack.append(try persistent(try pop()))
            case 0x52:                                                 // REDUCE
                guard case .tuple(let args) = try pop() else { throw fail("REDUCE without an argument tuple") }
                stack.append(try call(try pop(), args))
            case 0x62:                                                 // BUILD: an object's state
                _ = try pop()  // a state dict's `_metadata` (module versions): not needed
                guard !stack.isEmpty else { throw fail("BUILD on an empty stack") }
            default:
                throw fail(String(format: "opcode 0x%02X, which a state dict does not use", op))
            }
        }
    }

    /// Only the globals a state dict needs; naming any other is refused before anything runs.
    private func global(_ module: String, _ name: String) throws -> PickleValue {
        switch (module, name) {
        case ("collections", "OrderedDict"), ("torch._utils", "_rebuild_tensor_v2"), ("torch._utils", "_rebuild_parameter"):
            return .global(module: module, name: name)
        case ("torch", let storage) where Self.storageTypes[storage] != nil:
            return .global(module: module, name: name)
        default:
            throw BertError.unreadableFile(path: path, reason:
                "the pickle asks for \(module).\(name), which a PyTorch state dict never needs; refused (nothing in the file was run)")
        }
    }

    /// "Calls" an allowed global: builds the value it would return.
    private func call(_ callable: PickleValue, _ args: [PickleValue]) throws -> PickleValue {
        guard case .global(let module, let name) = callable else { throw fail("REDUCE of something not callable") }
        switch name {
        case "OrderedDict":
            guard args.isEmpty else { throw fail("OrderedDict with arguments") }
            return .dict([])
        case "_rebuild_tensor_v2":
            // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
            guard args.count >= 4, case .storage(let storage) = args[0], case .int(let offset) = args[1],
                  let shape = ints(args[2]), let stride = ints(args[3]) else {
                throw fail("_rebuild_tensor_v2 with arguments other than (storage, offset, size, stride, …)")
            }
            return .tensor(TorchTensor(storage: storage, offset: offset, shape: shape, stride: stride))
        case "_rebuild_parameter":
            guard let data = args.first, case .tensor = data else { throw fail("_rebuild_parameter without a tensor") }
            return data
        default:
            throw fail("\(module).\(name) cannot be called")
        }
    }

    /// `('storage', torch.FloatStorage, key, location, numel)`.
    private func persistent(_ pid: PickleValue) throws -> PickleValue {
        guard case .tuple(let t) = pid, t.count >= 5, case .string("storage") = t[0],
              case .global(_, let type) = t[1], let dtype = Self.storageTypes[type],
              case .string(let key) = t[2], case .int(let count) = t[4], count >= 0 else {
            throw fail("a persistent id other than ('storage', type, key, location, numel)")
        }
        return .storage(TorchStorage(dtype: dtype, key: key, count: count))
    }

    private func ints(_ v: PickleValue) -> [Int]? {
        guard case .tuple(let items) = v else { return nil }
        var out: [Int] = []
        for item in items { guard case .int(let n) = item, n >= 0 else { return nil }; out.append(n) }
        return out
    }

    private mutating func byte() throws -> UInt8 {
        guard position < bytes.count else { throw fail("the pickle is truncated") }
        defer { position += 1 }
        return bytes[position]
    }

    private mutating func take(_ n: Int) throws -> [UInt8] {
        guard n >= 0, n <= bytes.count - position else { throw fail("the pickle is truncated") }
        defer { position += n }
        return Array(bytes[position..<(position + n)])
    }

    private mutating func littleEndian(_ n: Int) throws -> UInt64 {
        var v: UInt64 = 0
        for (k, b) in try take(n).enumerated() { v |= UInt64(b) << (8 * UInt64(k)) }
        return v
    }

    private mutating func text(_ n: Int) throws -> String {
        let raw = try take(n)
        guard let s = String(validating: raw, as: UTF8.self) else { throw fail("a string that is not UTF-8") }
        return s
    }

    private mutating func line() throws -> String {
        guard let end = bytes[position...].firstIndex(of: 0x0A) else { throw fail("the pickle is truncated") }
        let s = String(decoding: bytes[position..<end], as: UTF8.self)
        position = end + 1
        return s
    }

    private mutating func pop() throws -> PickleValue {
        guard let v = stack.popLast() else { throw fail("the pickle pops an empty stack") }
        if case .mark = v { throw fail("a value was expected, the mark was found") }
        return v
    }

    private func top() throws -> PickleValue {
        guard let v = stack.last else { throw fail("the pickle memoizes an empty stack") }
        return v
    }

    private mutating func popToMark() throws -> [PickleValue] {
        guard let m = stack.lastIndex(where: { if case .mark = $0 { return true } else { return false } }) else {
            throw fail("no mark to pop to")
        }
        let items = Array(stack[(m + 1)...])
        stack.removeSubrange(m...)
        return items
    }
}
