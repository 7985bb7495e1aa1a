fn main() {
    let args: Vec<String> = std::env::args().collect();
    let mut w = Vec::new();
    match caffe_mem::load::load(&args[1], Default::default(), &mut w) {
        Ok(n) => {
            for x in &w {
                eprintln!("{}:{}:{}: warning: {}", x.file, x.line, x.col, x.message);
            }
            println!("{} layers {} v1", n.net.layer.len(), n.net.layers.len());
        }
        Err(e) => {
            eprintln!("{:?}: error: {}", e.location(), e);
            std::process::exit(e.exit_code());
        }
    }
}
