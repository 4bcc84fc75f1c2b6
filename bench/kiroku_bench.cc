// Placeholder replaced by the benchmark implementation.
int main() { return 0; }
