//! A minimal ONNX writer (hand-rolled protobuf) so tests can build the small models they need.
//!
//! Only what tiny test graphs use: float tensors, named dims, nodes with int/ints/float attributes.

/// A dimension: fixed or symbolic.
#[derive(Clone, Copy)]
pub enum Dim {
    Fixed(i64),
    Named(&'static str),
}

pub enum Attr {
    Int(i64),
    Ints(Vec<i64>),
}

pub struct Node {
    pub op: &'static str,
    pub inputs: Vec<String>,
    pub outputs: Vec<String>,
    pub attrs: Vec<(&'static str, Attr)>,
}

pub fn node(
    op: &'static str,
    inputs: &[&str],
    outputs: &[&str],
    attrs: Vec<(&'static str, Attr)>,
) -> Node {
    Node {
        op,
        inputs: inputs.iter().map(|s| s.to_string()).collect(),
        outputs: outputs.iter().map(|s| s.to_string()).collect(),
        attrs,
    }
}

#[derive(Default)]
pub struct Graph {
    pub nodes: Vec<Node>,
    pub initializers: Vec<(String, Vec<i64>, Vec<f32>)>,
    pub inputs: Vec<(String, Vec<Dim>)>,
    pub outputs: Vec<(String, Vec<Dim>)>,
}

impl Graph {
    pub fn init(&mut self, name: &str, dims: &[i64], values: Vec<f32>) {
        assert_eq!(dims.iter().product::<i64>() as usize, values.len());
        self.initializers.push((name.into(), dims.to_vec(), values));
    }

    /// Serialises as an ONNX model (IR 8, opset 17).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut g = Vec::new();
        for n in &self.nodes {
            let mut nb = Vec::new();
            for i in &n.inputs {
                bytes(&mut nb, 1, i.as_bytes());
            }
            for o in &n.outputs {
                bytes(&mut nb, 2, o.as_bytes());
            }
            bytes(&mut nb, 4, n.op.as_bytes());
            for (name, a) in &n.attrs {
                let mut ab = Vec::new();
                bytes(&mut ab, 1, name.as_bytes());
                match a {
                    Attr::Int(i) => {
                        int(&mut ab, 3, *i);
                        int(&mut ab, 20, 2);
                    }
                    Attr::Ints(v) => {
                        for i in v {
                            int(&mut ab, 8, *i);
                        }
                        int(&mut ab, 20, 7);
                    }
                }
                bytes(&mut nb, 5, &ab);
            }
            bytes(&mut g, 1, &nb);
        }
        bytes(&mut g, 2, b"test-graph");
        for (name, dims, values) in &self.initializers {
            let mut t = Vec::new();
            for d in dims {
                int(&mut t, 1, *d);
            }
            int(&mut t, 2, 1);
            bytes(&mut t, 8, name.as_bytes());
            let raw: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
            bytes(&mut t, 9, &raw);
            bytes(&mut g, 5, &t);
        }
        for (field, list) in [(11, &self.inputs), (12, &self.outputs)] {
            for (name, dims) in list {
                bytes(&mut g, field, &value_info(name, dims));
            }
        }
        let mut m = Vec::new();
        int(&mut m, 1, 8);
        bytes(&mut m, 2, b"posecam-tests");
        bytes(&mut m, 7, &g);
        let mut opset = Vec::new();
        bytes(&mut opset, 1, b"");
        int(&mut opset, 2, 17);
        bytes(&mut m, 8, &opset);
        m
    }
}

fn value_info(name: &str, dims: &[Dim]) -> Vec<u8> {
    let mut shape = Vec::new();
    for d in dims {
        let mut db = Vec::new();
        match d {
            Dim::Fixed(v) => int(&mut db, 1, *v),
            Dim::Named(s) => bytes(&mut db, 2, s.as_bytes()),
        }
        bytes(&mut shape, 1, &db);
    }
    let mut tensor = Vec::new();
    int(&mut tensor, 1, 1);
    bytes(&mut tensor, 2, &shape);
    let mut ty = Vec::new();
    bytes(&mut ty, 1, &tensor);
    let mut vi = Vec::new();
    bytes(&mut vi, 1, name.as_bytes());
    bytes(&mut vi, 2, &ty);
    vi
}

fn varint(buf: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        buf.push((v as u8) | 0x80);
        v >>= 7;
    }
    buf.push(v as u8);
}

fn key(buf: &mut Vec<u8>, field: u32, wire: u8) {
    varint(buf, ((field as u64) << 3) | wire as u64);
}

fn int(buf: &mut Vec<u8>, field: u32, v: i64) {
    key(buf, field, 0);
    varint(buf, v as u64);
}

fn bytes(buf: &mut Vec<u8>, field: u32, data: &[u8]) {
    key(buf, field, 2);
    varint(buf, data.len() as u64);
    buf.extend_from_slice(data);
}

/// 1×1 convolution: output channel `k` = `gain ×` input channel `pick` `+ bias`, where
/// `weights(k)` gives `(pick, gain, bias)`.
pub fn pointwise_conv(
    g: &mut Graph,
    [name, input, output]: [&str; 3],
    channels: usize,
    weights: impl Fn(usize) -> (usize, f32, f32),
) {
    let mut w = vec![0.0; channels * 3];
    let mut b = vec![0.0; channels];
    for k in 0..channels {
        let (pick, gain, bias) = weights(k);
        w[k * 3 + pick] = gain;
        b[k] = bias;
    }
    let (wn, bn) = (format!("{name}_w"), format!("{name}_b"));
    g.init(&wn, &[channels as i64, 3, 1, 1], w);
    g.init(&bn, &[channels as i64], b);
    g.nodes
        .push(node("Conv", &[input, &wn, &bn], &[output], vec![]));
}

/// Stride-8 average pooling, the cheapest stand-in for a network's stride.
pub fn pool8(g: &mut Graph, input: &str, output: &str) {
    g.nodes.push(node(
        "AveragePool",
        &[input],
        &[output],
        vec![
            ("kernel_shape", Attr::Ints(vec![8, 8])),
            ("strides", Attr::Ints(vec![8, 8])),
        ],
    ));
}

/// A tiny model with the CMU contract (NCHW input, 38 PAF + 19 heatmap outputs), written to `path`.
pub fn write_tiny_cmu_model(path: &std::path::Path) {
    let mut g = Graph::default();
    g.inputs.push((
        "input".into(),
        vec![
            Dim::Fixed(1),
            Dim::Fixed(3),
            Dim::Named("H"),
            Dim::Named("W"),
        ],
    ));
    pool8(&mut g, "input", "pooled");
    pointwise_conv(&mut g, ["paf", "pooled", "paf"], 38, |_| (0, 0.0, 0.0));
    pointwise_conv(&mut g, ["heat", "pooled", "heat"], 19, |_| (0, 0.0, 0.0));
    for (name, c) in [("paf", 38), ("heat", 19)] {
        g.outputs.push((
            name.into(),
            vec![
                Dim::Fixed(1),
                Dim::Fixed(c),
                Dim::Named("h"),
                Dim::Named("w"),
            ],
        ));
    }
    std::fs::write(path, g.to_bytes()).expect("write tiny model");
}
