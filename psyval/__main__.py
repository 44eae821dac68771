from psyval.cli import main

main()
