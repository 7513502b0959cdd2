@testable import CalibCore
import Testing

/// float32 MSE searches compute their errors with `FastPower` and prove the steps they pick
/// are torch's (`MSEGridSearch+Certified.swift`), on the case that made it necessary.
@Suite struct CertifiedSearchTests {
  /// Group 89,333 of the LLM-sized bench weight (`refbench.py --dump`, 4096 × 4096,
  /// float32): torch's errors at shrink steps 2 and 3 differ by one float32 ulp, so a power
  /// one ulp off torch's in a third of the terms picked step 2.
  static let group: [Float] = [
    0x3A1A_996F, 0x3D03_992C, 0xBB00_4196, 0xBD08_7C20, 0x3D04_BE66, 0x3C5E_DDA5,
    0xBBBE_A861, 0xBD1B_8F3A, 0xBAD2_3E37, 0x3C92_5ED7, 0xBBC1_DBEB, 0x3BD7_9365,
    0xBCD9_F893, 0xBC5A_2532, 0xBCF6_401D, 0xBC93_4F59, 0xBBF8_204C, 0xBC42_28FC,
    0x3D46_30BD, 0x3D10_A46E, 0xBCEC_E10C, 0xBCA1_0D21, 0x3BFB_E79E, 0x3CC5_3EB9,
    0x3BC0_9E7B, 0x3D5F_9F93, 0x3CE6_6174, 0x3C73_4555, 0xBCE6_03BC, 0x3D34_6430,
    0xBCDA_3D00, 0x3BE8_81B5, 0x3BFD_EAA3, 0x3CDC_922F, 0xBAA6_99DC, 0xBD14_DFC9,
    0xBCA8_8A5D, 0xBBE2_4F50, 0xBBCB_6EC5, 0xBCF3_632E, 0x3D51_FC82, 0xBC5E_0072,
    0x3C80_670A, 0x3BD0_FEBB, 0x3AA9_0A20, 0xBC81_51C7, 0x3D38_1613, 0x3CD7_873E,
    0x3CD1_CCFD, 0x3C0E_E240, 0x3CC4_5990, 0x3B29_8AAA, 0x3BF8_2F6B, 0x3D08_4834,
    0x3D32_1A64, 0x3C7B_7705, 0x3C7D_9D4E, 0xBBE8_FA2B, 0x3BA6_4EA6, 0x3D15_D3CF,
    0x3CC3_7BFD, 0x3821_F6F6, 0x3D18_FDFC, 0xBC54_DBEE, 0x3BE1_34A6, 0xBBAC_8781,
    0x3C68_8209, 0x3C10_5416, 0xBB5E_7413, 0x3CBA_3EB0, 0xBC29_F962, 0x3C6E_D5A5,
    0x3C7E_FD00, 0x3BA1_E0E8, 0xBCA7_8DC4, 0xBC96_A3C1, 0xB82F_668D, 0x3CF8_CFC7,
    0xBC58_E0B0, 0x3C60_E449, 0x3C89_81B2, 0xBBD3_920A, 0xBD25_5205, 0x3CB1_2597,
    0x3BA7_FDE2, 0x3C10_9209, 0x3CCF_4BD3, 0xBC51_88B4, 0xBC19_6194, 0x3C7B_1621,
    0x3B48_7382, 0x3C56_46AF, 0x3AAA_CFC6, 0x39EE_77CF, 0xBC49_5AAD, 0xBCBB_1480,
    0x3C67_8635, 0xBC7E_2662, 0xBB1B_FC9D, 0x3D5E_B2DD, 0xBB8A_ECF2, 0xBC93_B644,
    0xBC52_D475, 0x3C8A_0F84, 0x3B31_212F, 0xBB59_3F52, 0x3C4C_AFF8, 0x3B1A_C741,
    0xBCB4_3BAB, 0xBC11_548D, 0x3B79_4F67, 0x3C34_8302, 0x3D01_C757, 0xBCA3_AF2C,
    0x3C15_165F, 0xBC4D_002A, 0x3C86_D990, 0x3C95_44E2, 0x3C9C_377A, 0xBB2E_9414,
    0x3CDC_8597, 0xBC9A_ED11, 0x3C90_7DD4, 0x3C8D_5485, 0xBC29_485C, 0xBC97_CE96,
    0xBC94_E8C8, 0x3AAE_F809,
  ].map { Float(bitPattern: $0) }

  static let args = #"{"num_bits":4,"type":"int","symmetric":true,"strategy":"group","group_size":128}"#

  func search(_ values: [Float]) throws -> (min: [Float], max: [Float]) {
    let args = try decodeArgs(Self.args)
    let layout = try GroupLayout(shape: [1, values.count], baseName: .weight, args: args)
    let (rawMin, rawMax) = RangeReduction.minMax(values, layout: layout)
    return try MSEGridSearch(settings: ObserverSettings()).search(
      values, layout: layout, args: args, globalScale: nil, optimizingGlobalScale: false, rawMin: rawMin,
      rawMax: rawMax)
  }

  /// llm-compressor's `_grid_search_mse` on this group (torch 2.10, AVX-512): step 3.
  @Test func nearTieGoesTorchsWay() throws {
    let (mn, mx) = try search(Self.group)
    #expect(mn.map(\.bitPattern) == [0xBD20_5C5C] && mx.map(\.bitPattern) == [0x3D58_EA26], "\(hexList(mn)) \(hexList(mx))")
  }

  /// The approximate errors alone would not: they rank steps 2 and 3 the other way, so the
  /// test above exercises the certification, not just the approximation.
  @Test func approximateErrorsAloneRankTheTieTheOtherWay() throws {
    let args = try decodeArgs(Self.args)
    let layout = try GroupLayout(shape: [1, 128], baseName: .weight, args: args)
    let (rawMin, rawMax) = RangeReduction.minMax(Self.group, layout: layout)
    let search = MSEGridSearch(settings: ObserverSettings())
    let candidates = Candidates(
      args: args, globalScale: nil, optimizingGlobalScale: false, factors: (0..<4).map { search.settings.shrinkFactor($0) },
      rawMin: rawMin, rawMax: rawMax)
    let fast = try #require(search.certifiablePower(dtype: .float32))
    let approximate = search.errorTable(Self.group, layout: layout, args: args, steps: 4, candidates: candidates, fast: fast)
    let exact = search.errorTable(Self.group, layout: layout, args: args, steps: 4, candidates: candidates)
    #expect(exact[3] < exact[2])
    #expect(approximate[3] >= approximate[2])
  }

  /// Many groups, near-ties among them, and a norm far from 2.4: the certified search picks
  /// exactly what a search over torch's own terms picks.
  @Test(arguments: [2.4, 1.3, 3.7])
  func certifiedMatchesExactTerms(norm: Double) throws {
    var state: UInt64 = 0x853C_49E6_748F_EA9B
    let values: [Float] = (0..<(512 * 128)).map { _ in
      state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
      let u = Float(state >> 40) / Float(1 << 24) - 0.5
      return u * u * u * 0.2
    }
    let args = try decodeArgs(Self.args)
    let layout = try GroupLayout(shape: [512, 128], baseName: .weight, args: args)
    let (rawMin, rawMax) = RangeReduction.minMax(values, layout: layout)
    var settings = ObserverSettings()
    settings.norm = norm
    let search = MSEGridSearch(settings: settings)
    let (mn, mx) = try search.search(
      values, layout: layout, args: args, globalScale: nil, optimizingGlobalScale: false, rawMin: rawMin, rawMax: rawMax)
    // The reference's scan over a table of torch's terms, every step evaluated.
    let steps = settings.searchSteps
    let candidates = Candidates(
      args: args, globalScale: nil, optimizingGlobalScale: false, factors: (0..<steps).map { settings.shrinkFactor($0) },
      rawMin: rawMin, rawMax: rawMax)
    let exact = search.errorTable(values, layout: layout, args: args, steps: steps, candidates: candidates)
    let expected = search.select(
      exact, steps: steps, count: layout.count, factors: candidates.factors, rawMin: rawMin, rawMax: rawMax)
    #expect(mn.map(\.bitPattern) == expected.min.map(\.bitPattern))
    #expect(mx.map(\.bitPattern) == expected.max.map(\.bitPattern))
  }
}
