from campagne.cli import main

main()
