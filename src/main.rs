fn main() {
    std::process::exit(caffe_mem::cli::main());
}
