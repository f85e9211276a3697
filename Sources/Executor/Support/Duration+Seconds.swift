extension Duration {
    /// Seconds as a Double, for rates and printed figures.
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) * 1e-18 }
}
